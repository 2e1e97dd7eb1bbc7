"""A demo shape whose truth is a "buy till you die" process (Pareto/NBD with Gamma-Gamma spend).

The main demo plants churn behind weeks of fading engagement, which a tree model finds easily.
This shape is the opposite test: orders only, no engagement, and customers that drop out silently
as in the classic retail transaction logs. Because the process is known, so is every customer's
death time, and any model can be checked against the oracle (P(alive) from the true parameters).

Per customer (time in weeks):
- acquisition (the first order) at a_i: uniform over the first 12 weeks (``cohorts="one"``) or
  over the whole history (``cohorts="many"``),
- purchase rate lambda_i ~ Gamma(r, rate alpha), dropout rate mu_i ~ Gamma(s, rate beta),
  lifetime tau_i ~ Exponential(mu_i): repeat orders are a Poisson(lambda_i) process on
  (a_i, a_i + tau_i), cut at the end of the history,
- spend per order z ~ Gamma(p, rate nu_i), nu_i ~ Gamma(q, rate gamma) (Fader-Hardie-Lee 2005).

Defaults are the published CDNOW estimates (weeks): Pareto/NBD r=0.55, alpha=10.58, s=0.61,
beta=11.67 (Fader, Hardie & Lee 2005, "Counting your customers the easy way"); Gamma-Gamma
p=6.25, q=3.74, gamma=15.44 (Fader, Hardie & Lee 2005, "RFM and CLV").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from demo_data.writer import DEMO_MARKER, WrittenFiles, _copy, prepare_folder

BTYD_START = date(2024, 7, 1)
HISTORY_WEEKS = 78
COHORT_WEEKS = 12
COHORTS = ("one", "many")


@dataclass(frozen=True)
class BtydTruthParams:
    r: float = 0.55
    alpha: float = 10.58
    s: float = 0.61
    beta: float = 11.67
    p: float = 6.25
    q: float = 3.74
    gamma: float = 15.44


@dataclass
class BtydDataset:
    start: date
    end: date  # last day with data; the default as-of date is the day after
    cohorts: str
    params: BtydTruthParams
    orders: pd.DataFrame  # order_idx, customer_idx, week (since start), amount
    truth: pd.DataFrame  # customer_idx, acquired_week, purchase_rate, dropout_rate, death_week,
    #                      mean_spend


def generate_btyd(
    n_customers: int = 10_000,
    seed: int = 42,
    cohorts: str = "one",
    start: date = BTYD_START,
    weeks: int = HISTORY_WEEKS,
    params: BtydTruthParams | None = None,
) -> BtydDataset:
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    if cohorts not in COHORTS:
        raise ValueError(f"cohorts must be one of {COHORTS}, got {cohorts!r}")
    params = params or BtydTruthParams()
    rng = np.random.default_rng(seed)
    n = n_customers
    acquisition_span = COHORT_WEEKS if cohorts == "one" else weeks
    acquired = np.sort(rng.uniform(0, acquisition_span, n))
    rate = rng.gamma(params.r, 1 / params.alpha, n)
    dropout = rng.gamma(params.s, 1 / params.beta, n)
    death = acquired + rng.exponential(1.0, n) / dropout
    nu = rng.gamma(params.q, 1 / params.gamma, n)

    # Repeat orders: a Poisson count on the observed part of each life, then uniform times.
    observed_life = np.clip(np.minimum(death, weeks) - acquired, 0, None)
    repeats = rng.poisson(rate * observed_life)
    owner = np.repeat(np.arange(n), repeats)
    repeat_week = acquired[owner] + rng.uniform(0, 1, owner.size) * observed_life[owner]
    customer_idx = np.concatenate([np.arange(n), owner])
    order_week = np.concatenate([acquired, repeat_week])
    amount = rng.gamma(params.p, 1 / nu[customer_idx])
    orders = pd.DataFrame(
        {"customer_idx": customer_idx, "week": order_week, "amount": np.round(amount, 2)}
    )
    orders["amount"] = orders["amount"].clip(lower=0.01)
    orders = orders.sort_values(["week", "customer_idx"], kind="stable").reset_index(drop=True)
    orders.insert(0, "order_idx", np.arange(len(orders)))
    truth = pd.DataFrame(
        {
            "customer_idx": np.arange(n),
            "acquired_week": acquired,
            "purchase_rate": rate,
            "dropout_rate": dropout,
            "death_week": death,
            "mean_spend": params.p / nu,
        }
    )
    end = start + timedelta(days=weeks * 7 - 1)
    return BtydDataset(start, end, cohorts, params, orders, truth)


_ORDERS_SQL = """
    select 'O' || lpad(cast(order_idx + 1 as varchar), 8, '0') as order_id,
           customer_id(customer_idx) as customer_id,
           strftime(week_ts(week), '%Y-%m-%d %H:%M:%S') as ordered_at,
           amount,
           'completed' as status
    from orders_df
    order by order_idx
"""

_TRUTH_SQL = """
    select customer_id(customer_idx) as customer_id,
           week_ts(acquired_week) as acquired_at,
           round(purchase_rate, 6) as purchase_rate_per_week,
           round(dropout_rate, 6) as dropout_rate_per_week,
           -- may lie after the end of the history (the customer is still alive there)
           week_ts(least(death_week, 5200)) as death_at,
           round(mean_spend, 4) as mean_spend
    from truth_df
    order by customer_idx
"""


def write_btyd(
    dataset: BtydDataset, landing_dir: Path, truth_dir: Path, force: bool = False
) -> WrittenFiles:
    """orders.csv on the landing contract (no other files) plus the truth for tests/benches."""
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    prepare_folder(landing_dir, force)
    prepare_folder(truth_dir, force=True)
    con = duckdb.connect()
    try:
        con.register("orders_df", dataset.orders)
        con.register("truth_df", dataset.truth)
        con.execute(
            f"create macro week_ts(w) as timestamp '{dataset.start} 00:00:00' "
            "+ to_seconds(cast(floor(w * 7 * 86400) as bigint))"
        )
        con.execute("create macro customer_id(i) as 'C' || lpad(cast(i + 1 as varchar), 7, '0')")
        rows = _copy(con, _ORDERS_SQL, landing_dir / "orders.csv", "csv")
        _copy(con, _TRUTH_SQL, truth_dir / "customers_truth.csv", "csv")
    finally:
        con.close()
    meta = {
        "process": "pareto_nbd_gamma_gamma",
        "time_unit": "week",
        "start": dataset.start.isoformat(),
        "end": dataset.end.isoformat(),
        "cohorts": dataset.cohorts,
        "customers": len(dataset.truth),
        "params": asdict(dataset.params),
    }
    (truth_dir / "btyd_params.json").write_text(json.dumps(meta, indent=2) + "\n")
    (landing_dir / DEMO_MARKER).write_text(
        f"Written by `insights demo-data --shape btyd --cohorts {dataset.cohorts}` "
        f"({len(dataset.truth)} customers).\n"
    )
    return WrittenFiles(landing_dir, truth_dir, {"orders": rows})


def read_btyd_truth(truth_dir: Path) -> tuple[dict, pd.DataFrame]:
    """The parameters (json) and the per-customer truth written by ``write_btyd``."""
    truth_dir = Path(truth_dir)
    meta = json.loads((truth_dir / "btyd_params.json").read_text())
    customers = pd.read_csv(
        truth_dir / "customers_truth.csv", parse_dates=["acquired_at", "death_at"]
    )
    return meta, customers
