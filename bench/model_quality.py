"""How good are the models? Churn and value quality on data whose truth is known.

    python -m bench.model_quality [--customers 10000] [--horizon 90] [--shapes btyd-one ...]

Per shape (btyd-one: one 12-week acquisition cohort from a Pareto/NBD x Gamma-Gamma process;
btyd-many: acquisition spread over the 78 weeks; demo: the persona demo), it writes the demo
data, runs the real pipeline (`insights run`) with the as-of date one horizon before the end
of the data, and measures the published scores against what happened in the held-out horizon:
a scored customer churned when they placed no completed order in [as-of, as-of + horizon),
the pipeline's own label. Printed per shape: churn ROC AUC of the published probability, of
the uncalibrated score behind it, of recency, of Pareto/NBD and BG/NBD fitted on the history
before the as-of date, and of the oracle (btyd shapes: P(no purchase in the horizon) from the
true parameters); Brier score, expected calibration error, distinct probabilities and exact
0/1s; predicted vs actual horizon revenue and per-customer Spearman (published and BG/NBD x
Gamma-Gamma); segment sizes and names. Slow (a full refresh per shape); not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import brier_score_loss, roc_auc_score

from ml.model_store import ModelStore
from ml.prediction.btyd import summary_from_snapshot
from ml.prediction.btyd_features import add_btyd_features
from ml.prediction.churn import is_active_buyer
from ml.prediction.metrics import expected_calibration_error
from ml.prediction.pareto_nbd import ParetoNbdParams, probability_no_purchase

SHAPES = {
    "btyd-one": ["--shape", "btyd", "--cohorts", "one"],
    "btyd-many": ["--shape", "btyd", "--cohorts", "many"],
    "demo": ["--shape", "contract"],
}


@dataclass
class ShapeQuality:
    shape: str
    customers: int
    as_of: date
    scored: int
    churn_rate: float
    auc: dict[str, float]
    brier: float
    ece: float
    distinct: int
    exact_0_or_1: int
    revenue: dict[str, tuple[float, float]]  # predictor -> (predicted total, Spearman)
    actual_revenue: float
    selected: str
    selection_note: str
    segments: pd.DataFrame = field(repr=False)
    seconds: float = 0.0


def run_shape(shape: str, customers: int, horizon: int, workdir: Path, seed: int) -> ShapeQuality:
    landing, truth = workdir / "landing", workdir / "demo_truth"
    generate = [sys.executable, "-m", "orchestration.cli", "demo-data", *SHAPES[shape]]
    generate += ["--customers", str(customers), "--seed", str(seed), "--force"]
    generate += ["--landing-dir", str(landing), "--truth-dir", str(truth)]
    _call(generate, os.environ.copy())
    orders = _orders(landing)
    as_of = orders["ordered_at"].max().date() + timedelta(days=1) - timedelta(days=horizon)
    env = os.environ.copy()
    env.pop("DAGSTER_HOME", None)
    env.update(
        INSIGHTS_LANDING_DIR=str(landing),
        INSIGHTS_WAREHOUSE_PATH=str(workdir / "warehouse.duckdb"),
        INSIGHTS_AS_OF=as_of.isoformat(),
        INSIGHTS_CHURN_HORIZON_DAYS=str(horizon),
    )
    started = time.perf_counter()
    _call([sys.executable, "-m", "orchestration.cli", "run"], env)
    seconds = time.perf_counter() - started
    quality = measure(shape, workdir, orders, as_of, horizon, truth)
    quality.seconds = seconds
    return quality


def _call(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[2:4])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def _orders(landing: Path) -> pd.DataFrame:
    orders = pd.read_csv(landing / "orders.csv", parse_dates=["ordered_at"])
    if "status" in orders:
        orders = orders[orders["status"] == "completed"]
    return orders


def measure(
    shape: str, workdir: Path, orders: pd.DataFrame, as_of: date, horizon: int, truth: Path
) -> ShapeQuality:
    con = duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True)
    try:
        features = con.execute("select * from marts.customer_features").df()
        scores = con.execute("select * from ml.churn_scores").df()
        segments = con.execute(
            "select segment_name, count(*) as customers from ml.customer_segments "
            "group by 1 order by 2 desc"
        ).df()
        model_row = con.execute(
            "select selected_scorer, selection_note from ml.churn_models "
            "order by trained_as_of desc limit 1"
        ).fetchone()
    finally:
        con.close()
    start = pd.Timestamp(as_of)
    window = orders[
        (orders["ordered_at"] >= start)
        & (orders["ordered_at"] < start + pd.Timedelta(days=horizon))
    ]
    actual = window.groupby("customer_id")["amount"].sum()
    frame = add_btyd_features(features, horizon, cutoff_column="as_of_date")
    frame = frame.merge(scores, on="customer_id", how="left", suffixes=("", "_score"))
    frame["actual_revenue"] = frame["customer_id"].map(actual).fillna(0.0)
    scored = frame[frame["churn_probability"].notna()].copy()
    y = (~scored["customer_id"].isin(window["customer_id"])).to_numpy(dtype=int)
    published = scored["churn_probability"].to_numpy(dtype=float)

    auc = {"published": roc_auc_score(y, published)}
    _, model = ModelStore(workdir / "models").load_current("churn")
    active = scored[is_active_buyer(scored, model.active_window_days)]
    auc["uncalibrated score"] = roc_auc_score(y, model.churn.scorer.score(active))
    auc["recency"] = roc_auc_score(y, scored["recency_days"])
    auc["pareto_nbd (fitted)"] = roc_auc_score(y, scored["pnbd_p_no_purchase"])
    auc["bg_nbd (fitted)"] = roc_auc_score(y, scored["btyd_p_no_purchase"])
    params_file = truth / "btyd_params.json"
    if params_file.exists():
        import json

        params = json.loads(params_file.read_text())["params"]
        true = ParetoNbdParams(params["r"], params["alpha"], params["s"], params["beta"])
        summary = summary_from_snapshot(scored)
        auc["oracle (true parameters)"] = roc_auc_score(
            y, probability_no_purchase(true, summary, horizon)
        )

    everyone = frame["actual_revenue"].to_numpy()
    bg_gg = np.nan_to_num(
        frame["btyd_expected_orders"].to_numpy() * frame["gg_expected_spend"].to_numpy()
    )
    pnbd_gg = np.nan_to_num(
        frame["pnbd_expected_orders"].to_numpy() * frame["gg_expected_spend"].to_numpy()
    )
    revenue = {}
    for name, values in (
        ("published", frame["predicted_revenue"].fillna(0).to_numpy()),
        ("bg_nbd x gamma_gamma", bg_gg),
        ("pareto_nbd x gamma_gamma", pnbd_gg),
    ):
        revenue[name] = (float(values.sum()), float(spearmanr(values, everyone).statistic))
    return ShapeQuality(
        shape=shape,
        customers=len(features),
        as_of=as_of,
        scored=len(scored),
        churn_rate=float(y.mean()),
        auc=auc,
        brier=float(brier_score_loss(y, published)),
        ece=expected_calibration_error(y, published),
        distinct=int(pd.Series(published).nunique()),
        exact_0_or_1=int(((published == 0) | (published == 1)).sum()),
        revenue=revenue,
        actual_revenue=float(everyone.sum()),
        selected=str(model_row[0]),
        selection_note=str(model_row[1]),
        segments=segments,
    )


def report(q: ShapeQuality) -> str:
    lines = [
        f"== {q.shape}: {q.customers:,} customers, as-of {q.as_of} (refresh {q.seconds:.0f} s)",
        f"   scored active buyers {q.scored:,}, churned in the held-out horizon {q.churn_rate:.1%}",
        f"   churn scorer selected: {q.selected}",
        f"     ({q.selection_note})",
        "   churn ROC AUC:",
    ]
    lines += [f"     {name:<26} {value:.4f}" for name, value in q.auc.items()]
    lines += [
        f"   Brier {q.brier:.4f}, expected calibration error {q.ece:.4f}",
        f"   distinct probabilities {q.distinct:,} of {q.scored:,} scored "
        f"({q.distinct / max(q.scored, 1):.1%}), exactly 0 or 1: {q.exact_0_or_1}",
        f"   horizon revenue: actual {q.actual_revenue:,.0f}",
    ]
    for name, (total, rho) in q.revenue.items():
        ratio = total / q.actual_revenue if q.actual_revenue else float("nan")
        lines.append(f"     {name:<26} {total:>12,.0f} ({ratio:.1%})  Spearman {rho:.3f}")
    lines.append("   segments:")
    total = q.segments["customers"].sum()
    for row in q.segments.itertuples():
        lines.append(
            f"     {row.segment_name:<32} {row.customers:>7,} ({row.customers / total:.0%})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--workdir", type=Path, help="keep the warehouses here (default: temp)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="model-quality-") as tmp:
        root = args.workdir or Path(tmp)
        for shape in args.shapes:
            quality = run_shape(shape, args.customers, args.horizon, root / shape, args.seed)
            print(report(quality), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
