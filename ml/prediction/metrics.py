"""Ranking and probability metrics for churn scores, computed the same way for every scorer."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_decile_lift(y: np.ndarray, score: np.ndarray) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate.

    Customers tied at the decile's boundary score count pro rata, so ties are neither lucky
    nor unlucky (a constant score has a lift of exactly 1)."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    base = y.mean()
    if base == 0:
        return float("nan")
    n_top = max(1, int(np.ceil(0.1 * len(y))))
    threshold = np.sort(score)[::-1][n_top - 1]
    above = score > threshold
    at = score == threshold
    churners = y[above].sum() + (n_top - above.sum()) * y[at].mean()
    return float(churners / n_top / base)


def calibration_table(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Deciles of predicted probability: mean prediction vs observed churn rate."""
    frame = pd.DataFrame(
        {"y": np.asarray(y, dtype=float), "p": np.asarray(probability, dtype=float)}
    )
    frame["decile"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False) + 1
    table = frame.groupby("decile").agg(
        customers=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    return table.reset_index()


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Row-weighted mean |mean predicted - observed rate| over the deciles of the prediction."""
    table = calibration_table(y, probability, bins)
    gap = (table["mean_predicted"] - table["observed_rate"]).abs()
    return float((gap * table["customers"]).sum() / table["customers"].sum())


def evaluate(
    y: np.ndarray,
    score: np.ndarray,
    probability: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """ROC AUC (weighted when `weights` are given, e.g. to the scored customers' tenure mix),
    PR AUC and top-decile lift of a score; Brier score and expected calibration error when it
    is a probability."""
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("evaluation needs both churners and non-churners")
    result = {
        "roc_auc": float(roc_auc_score(y, score, sample_weight=weights)),
        "roc_auc_unweighted": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score, sample_weight=weights)),
        "top_decile_lift": top_decile_lift(y, score),
        "base_rate": float(y.mean()),
        "rows": len(y),
    }
    has_p = probability is not None
    result["brier"] = float(brier_score_loss(y, probability)) if has_p else float("nan")
    result["ece"] = expected_calibration_error(y, probability) if has_p else float("nan")
    return result
