"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) and Gamma-Gamma spend (Fader, Hardie &
Lee 2005): the reference "buy till you die" models for orders-only data, fitted by maximum
likelihood (our own implementation; the `lifetimes` package is unmaintained).

Pareto/NBD: while alive a customer buys at a Poisson rate lambda ~ Gamma(r, alpha); lifetimes
are Exponential(mu) with mu ~ Gamma(s, beta). Inputs per customer, in weeks, as for BG/NBD
(``btyd.summary_from_snapshot``): x repeat purchases, t_x first-to-last purchase, T first
purchase to the cutoff.

P(no purchase in the next t) needs no extra formula: "x purchases in (0, T], the last at t_x,
none in (T, T + t]" is exactly the observation (x, t_x, T + t), so it is the likelihood ratio
L(x, t_x, T + t) / L(x, t_x, T). That holds for the true parameters too (the oracle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1, logsumexp

from ml.prediction.btyd import DAYS_PER_UNIT


@dataclass(frozen=True)
class ParetoNbdParams:
    r: float
    alpha: float
    s: float
    beta: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


def _arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))  # type: ignore[return-value]


def _log_a0(params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """log A_0 of Fader & Hardie's note on the Pareto/NBD likelihood (hypergeometric form)."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    if alpha >= beta:
        low, high, second = beta, alpha, s + 1.0
    else:
        low, high, second = alpha, beta, r + x
    rsx = r + s + x
    second = np.broadcast_to(second, x.shape)
    z_tx = (high - low) / (high + t_x)
    z_T = (high - low) / (high + T)
    log_p1 = np.log(hyp2f1(rsx, second, rsx + 1.0, z_tx))
    log_p2 = np.log(hyp2f1(rsx, second, rsx + 1.0, z_T))
    log_q1, log_q2 = np.log(high + t_x), np.log(high + T)
    # p1 / q1^rsx - p2 / q2^rsx, in logs (the first term is the larger: t_x <= T).
    first = log_p1 - rsx * log_q1
    second_term = log_p2 - rsx * log_q2
    diff = logsumexp(np.stack([first, second_term]), axis=0, b=np.array([[1.0], [-1.0]]))
    return np.where(np.isfinite(diff), diff, -np.inf)


def log_likelihood(
    params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + _log_a0(params, x, t_x, T)
    return head + np.logaddexp(alive, died)


def fit_pareto_nbd(
    summary: pd.DataFrame, weights: np.ndarray | None = None, penalty: float = 1e-6
) -> ParetoNbdParams:
    """Maximum likelihood on log-parameters (L-BFGS-B). Rows with equal (x, t_x, T) rounded to
    the day are fitted once with their count as weight: one-order buyers collapse to a few
    hundred rows, so even a large base fits in seconds."""
    if len(summary) < 10:
        raise ValueError(f"Pareto/NBD needs at least 10 customers, got {len(summary)}")
    compact, weights = _compact(summary, weights)
    x, t_x, T = _arrays(compact)
    total = weights.sum()

    def objective(log_params: np.ndarray) -> float:
        params = ParetoNbdParams(*np.exp(log_params))
        ll = log_likelihood(params, x, t_x, T)
        if not np.all(np.isfinite(ll)):
            return 1e10
        return -float(np.dot(weights, ll) / total) + penalty * float(np.sum(log_params**2))

    # Start from the order of magnitude of the published retail estimates (weeks).
    start = np.log([0.5, 10.0, 0.5, 10.0])
    result = minimize(objective, x0=start, method="L-BFGS-B", bounds=[(-7, 7)] * 4)
    return ParetoNbdParams(*np.exp(result.x))


def _compact(summary: pd.DataFrame, weights: np.ndarray | None) -> tuple[pd.DataFrame, np.ndarray]:
    day = 1.0 / DAYS_PER_UNIT
    frame = pd.DataFrame(
        {
            "x": summary["x"].to_numpy(dtype=float),
            "t_x": np.round(summary["t_x"].to_numpy(dtype=float) / day) * day,
            "T": np.round(summary["T"].to_numpy(dtype=float) / day) * day,
            "w": np.ones(len(summary)) if weights is None else np.asarray(weights, dtype=float),
        }
    )
    frame["T"] = np.maximum(frame["T"], frame["t_x"])
    grouped = frame.groupby(["x", "t_x", "T"], sort=True)["w"].sum().reset_index()
    return grouped[["x", "t_x", "T"]], grouped["w"].to_numpy()


def probability_alive(params: ParetoNbdParams, summary: pd.DataFrame) -> np.ndarray:
    x, t_x, T = _arrays(summary)
    r, s = params.r, params.s
    log_odds = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(params.alpha + T)
        + s * np.log(params.beta + T)
        + _log_a0(params, x, t_x, T)
    )
    return 1.0 / (1.0 + np.exp(log_odds))


def probability_no_purchase(
    params: ParetoNbdParams, summary: pd.DataFrame, days: float
) -> np.ndarray:
    """P(no purchase in the next `days`) = L(x, t_x, T + t) / L(x, t_x, T)."""
    x, t_x, T = _arrays(summary)
    t = days / DAYS_PER_UNIT
    ratio = log_likelihood(params, x, t_x, T + t) - log_likelihood(params, x, t_x, T)
    return np.clip(np.exp(ratio), 0.0, 1.0)


def expected_purchases(params: ParetoNbdParams, summary: pd.DataFrame, days: float) -> np.ndarray:
    """E[purchases in the next `days`] (Schmittlein et al. 1987; the s = 1 limit is a log)."""
    x, _, T = _arrays(summary)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    t = days / DAYS_PER_UNIT
    if abs(s - 1.0) < 1e-6:
        lifetime = (beta + T) * np.log((beta + T + t) / (beta + T))
    else:
        lifetime = (beta + T) / (s - 1.0) * (1.0 - ((beta + T) / (beta + T + t)) ** (s - 1.0))
    return probability_alive(params, summary) * (r + x) / (alpha + T) * lifetime


def simulate(params: ParetoNbdParams, n: int, weeks: float, seed: int = 0) -> pd.DataFrame:
    """Customers drawn from the Pareto/NBD process, each observed for `weeks` after a first
    purchase at time 0; also returns the true death time (column `death`)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    mu = rng.gamma(params.s, 1 / params.beta, n)
    death = rng.exponential(1.0, n) / mu
    life = np.minimum(death, weeks)
    x = rng.poisson(lam * life)
    # The last of x uniform times on (0, life) is life * U^(1/x).
    t_x = np.where(x > 0, life * rng.uniform(0, 1, n) ** (1.0 / np.maximum(x, 1)), 0.0)
    return pd.DataFrame({"x": x.astype(float), "t_x": t_x, "T": float(weeks), "death": death})


# --- Gamma-Gamma spend -------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, orders: np.ndarray, mean_spend: np.ndarray
) -> np.ndarray:
    """Log-likelihood of a customer's mean spend over `orders` orders (constant terms in the
    individual amounts dropped: they do not depend on the parameters)."""
    p, q, g = params.p, params.q, params.gamma
    n, m = orders, mean_spend
    return (
        gammaln(p * n + q)
        - gammaln(p * n)
        - gammaln(q)
        + q * np.log(g)
        + (p * n - 1) * np.log(m)
        + p * n * np.log(n)
        - (p * n + q) * np.log(g + n * m)
    )


def fit_gamma_gamma(orders: np.ndarray, mean_spend: np.ndarray) -> GammaGammaParams:
    """Maximum likelihood on customers with a positive mean spend."""
    n = np.asarray(orders, dtype=float)
    m = np.asarray(mean_spend, dtype=float)
    keep = (n > 0) & (m > 0) & np.isfinite(m)
    n, m = n[keep], m[keep]
    if len(n) < 10:
        raise ValueError(f"Gamma-Gamma needs at least 10 customers with spend, got {len(n)}")
    scale = float(np.median(m))  # fit in units of the median spend (well-conditioned)

    def objective(log_params: np.ndarray) -> float:
        p, q, g = np.exp(log_params)
        ll = gamma_gamma_log_likelihood(GammaGammaParams(p, q, g), n, m / scale)
        return -float(np.mean(ll)) + 1e-6 * float(np.sum(log_params**2))

    result = minimize(
        objective, x0=np.log([2.0, 3.0, 1.0]), method="L-BFGS-B", bounds=[(-7, 7)] * 3
    )
    p, q, g = np.exp(result.x)
    return GammaGammaParams(p, q, g * scale)


def expected_spend(
    params: GammaGammaParams, orders: np.ndarray, mean_spend: np.ndarray
) -> np.ndarray:
    """E[spend per order | history]: a weighted average of the population mean and the
    customer's own mean (needs q > 1; otherwise the customer's own mean)."""
    n = np.asarray(orders, dtype=float)
    m = np.nan_to_num(np.asarray(mean_spend, dtype=float), nan=0.0)
    p, q, g = params.p, params.q, params.gamma
    if q <= 1:
        return m
    return (g + n * m) * p / (p * n + q - 1)
