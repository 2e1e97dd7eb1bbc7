"""BG/NBD ("buy till you die", Fader, Hardie & Lee 2005): the classic model for transaction-only
data. Each customer buys at a Poisson rate lambda ~ Gamma(r, alpha) while alive and drops out
after any purchase with probability p ~ Beta(a, b).

Inputs per customer, in weeks: x = repeat purchases (orders - 1), t_x = time from the first to
the last purchase, T = time from the first purchase to the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

DAYS_PER_UNIT = 7.0


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


def summary_from_snapshot(snapshot: pd.DataFrame) -> pd.DataFrame:
    """x, t_x, T (weeks) for buyers in a feature snapshot (needs first/last order, cutoff)."""
    cutoff = pd.to_datetime(
        snapshot["cutoff_date"] if "cutoff_date" in snapshot else snapshot["as_of_date"]
    )
    first = pd.to_datetime(snapshot["first_order_at"])
    last = pd.to_datetime(snapshot["last_order_at"])
    return pd.DataFrame(
        {
            "x": np.maximum(snapshot["frequency"].to_numpy(dtype=float) - 1, 0),
            "t_x": ((last - first).dt.total_seconds() / 86400 / DAYS_PER_UNIT).to_numpy(),
            "T": ((cutoff - first).dt.total_seconds() / 86400 / DAYS_PER_UNIT).to_numpy(),
        },
        index=snapshot.index,
    )


def log_likelihood(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    head = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x)
        - gammaln(b)
        - gammaln(a + b + x)
    )
    stay = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    drop = np.full_like(stay, -np.inf)
    drop[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return head + np.logaddexp(stay, drop)


def fit_bg_nbd(summary: pd.DataFrame, penalty: float = 1e-6) -> BgNbdParams:
    """Maximum likelihood (L-BFGS on log-parameters; a tiny L2 penalty keeps it finite)."""
    x = summary["x"].to_numpy(dtype=float)
    t_x = summary["t_x"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)
    if len(x) < 10:
        raise ValueError(f"BG/NBD needs at least 10 customers, got {len(x)}")

    def objective(log_params: np.ndarray) -> float:
        params = BgNbdParams(*np.exp(log_params))
        return -float(np.mean(log_likelihood(params, x, t_x, T))) + penalty * float(
            np.sum(log_params**2)
        )

    result = minimize(objective, x0=np.zeros(4), method="L-BFGS-B", bounds=[(-8, 8)] * 4)
    return BgNbdParams(*np.exp(result.x))


def _alive_odds(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """(1 - P(alive)) / P(alive): a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)."""
    odds = np.zeros_like(x, dtype=float)
    repeat = x > 0
    odds[repeat] = (params.a / (params.b + x[repeat] - 1)) * np.exp(
        (params.r + x[repeat])
        * (np.log(params.alpha + T[repeat]) - np.log(params.alpha + t_x[repeat]))
    )
    return odds


def probability_alive(params: BgNbdParams, summary: pd.DataFrame) -> np.ndarray:
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    return 1.0 / (1.0 + _alive_odds(params, x, t_x, T))


def probability_no_purchase(params: BgNbdParams, summary: pd.DataFrame, days: float) -> np.ndarray:
    """P(no purchase in the next `days`): dead, or alive and the Poisson clock stays silent."""
    x, T = summary["x"].to_numpy(dtype=float), summary["T"].to_numpy(dtype=float)
    alive = probability_alive(params, summary)
    t = days / DAYS_PER_UNIT
    silent = np.exp((params.r + x) * (np.log(params.alpha + T) - np.log(params.alpha + T + t)))
    return (1 - alive) + alive * silent


def expected_purchases(params: BgNbdParams, summary: pd.DataFrame, days: float) -> np.ndarray:
    """E[purchases in the next `days`] (FHL 2005, eq. 10). The formula holds for a < 1 too
    (checked by simulation); only a = 1 is a removable singularity: NaN there."""
    if abs(params.a - 1) < 1e-9:
        return np.full(len(summary), np.nan)
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = days / DAYS_PER_UNIT
    ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    hyper = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ratio * hyper)
    return numerator / (1 + _alive_odds(params, x, t_x, T))


def simulate(params: BgNbdParams, n: int, weeks: float, seed: int = 0) -> pd.DataFrame:
    """Customers drawn from the BG/NBD process, each observed for `weeks` after a first purchase
    at time 0 (for tests and for checking the fit)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    rows = []
    for rate, drop in zip(lam, p, strict=True):
        t, x, last = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / rate) if rate > 0 else np.inf
            if t > weeks:
                break
            x, last = x + 1, t
            if rng.random() < drop:  # drops out right after this repeat purchase
                break
        rows.append((x, last, weeks))
    return pd.DataFrame(rows, columns=["x", "t_x", "T"])
