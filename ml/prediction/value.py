"""Predicted orders and revenue in the next horizon, and a 12-month customer value.

Two kinds of predictor compete on the newest cutoff (fitted on the older ones):
- gradient boosting: targets are zero-heavy counts and amounts, so both regressors use a
  Poisson loss (a log link that never predicts below zero; for revenue quasi-Poisson);
- BTYD: expected orders from Pareto/NBD (or BG/NBD) times the Gamma-Gamma expected spend per
  order, fitted on the order history alone (customers who never ordered: gradient boosting).
The published value uses the one with the best per-customer Spearman among those whose
predicted total is within VALUE_TOTAL_TOLERANCE of the actual (else the closest total): a
model fitted on young cohorts can rank well and still overstate what an older base will spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.ensemble import HistGradientBoostingRegressor

from ml.prediction.dataset import (
    VALUE_SAMPLE,
    TimeSplit,
    as_matrix,
    limit_rows_per_cutoff,
    presampled,
)
from ml.prediction.scorers import informative_features

VALUE_TOTAL_TOLERANCE = 0.10
GRADIENT_BOOSTING = "value_model"
# predictor -> (expected orders column, expected spend column) from btyd_features
BTYD_VALUE = {
    "pareto_nbd_gamma_gamma": ("pnbd_expected_orders", "gg_expected_spend"),
    "bg_nbd_gamma_gamma": ("btyd_expected_orders", "gg_expected_spend"),
}


class ValueModel:
    def __init__(
        self,
        features: list[str],
        horizon_days: int,
        random_state: int = 42,
        kind: str = GRADIENT_BOOSTING,
    ) -> None:
        self.features = list(features)
        self.horizon_days = horizon_days
        self.random_state = random_state
        self.kind = kind

    def _regressor(self) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            loss="poisson",
            learning_rate=0.05,
            max_iter=250,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.random_state,
        )

    def fit(self, rows: pd.DataFrame) -> ValueModel:
        self.features = list(informative_features(rows, self.features))
        x = as_matrix(rows, self.features)
        self.orders_ = self._regressor().fit(x, rows["future_orders"].to_numpy(dtype=float))
        self.revenue_ = self._regressor().fit(x, rows["future_revenue"].to_numpy(dtype=float))
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if hasattr(self, "orders_"):
            x = as_matrix(frame, self.features)
            orders = np.maximum(self.orders_.predict(x), 0)
            revenue = np.maximum(self.revenue_.predict(x), 0)
        else:  # BTYD only (too little history to fit): never-buyers expect nothing
            orders = revenue = np.zeros(len(frame))
        if getattr(self, "kind", GRADIENT_BOOSTING) in BTYD_VALUE:
            btyd_orders, btyd_revenue = btyd_value(frame, self.kind)
            known = np.isfinite(btyd_revenue)
            orders = np.where(known, btyd_orders, orders)
            revenue = np.where(known, btyd_revenue, revenue)
        return pd.DataFrame(
            {"predicted_orders": orders, "predicted_revenue": revenue}, index=frame.index
        )


def btyd_value(frame: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Expected orders and revenue in the horizon from BTYD columns (NaN for non-buyers)."""
    orders_column, spend_column = BTYD_VALUE[kind]
    orders = frame[orders_column].to_numpy(dtype=float)
    spend = frame[spend_column].to_numpy(dtype=float)
    return orders, orders * spend


def twelve_month_value(
    predicted_revenue: np.ndarray, churn_probability: np.ndarray, horizon_days: int
) -> np.ndarray:
    """Revenue over 365 days: this horizon's prediction, repeated for each horizon-length period
    of the year and discounted by the customer's churn probability compounding per period
    (a fractional last period counts pro rata). Without a churn probability (no orders yet)
    the periods are not discounted: the prediction already reflects how unlikely they are to buy.
    """
    periods = 365.0 / horizon_days
    whole = int(np.floor(periods))
    retention = 1.0 - np.nan_to_num(np.asarray(churn_probability, dtype=float), nan=0.0)
    factor = sum(retention**k for k in range(whole)) + (periods - whole) * retention**whole
    return np.asarray(predicted_revenue, dtype=float) * factor


@dataclass
class ValueValidation:
    metrics: pd.DataFrame
    selected: str = GRADIENT_BOOSTING
    selection_note: str = ""


def select_value_predictor(metrics: pd.DataFrame) -> tuple[str, str]:
    """Best Spearman among predictors whose revenue total is within the tolerance of the
    actual; if none is, the one with the closest total."""
    revenue = metrics[
        (metrics["target"] == "future_revenue")
        & metrics["predictor"].isin([GRADIENT_BOOSTING, *BTYD_VALUE])
        & metrics["spearman"].notna()
    ]
    ratio = revenue["predicted_total"] / revenue["actual_total"]
    close = revenue[(ratio - 1).abs() <= VALUE_TOTAL_TOLERANCE]
    if len(close):
        best = close.loc[close["spearman"].idxmax()]
        why = "best Spearman among predictors within 10% of the actual total"
    else:
        best = revenue.loc[(ratio - 1).abs().idxmin()]
        why = "no predictor within 10% of the actual total: the closest total"
    note = (
        f"{best['predictor']}: {why} (Spearman {best['spearman']:.3f}, predicted "
        f"{best['predicted_total']:,.0f} vs actual {best['actual_total']:,.0f})"
    )
    return str(best["predictor"]), note


def validate_value(
    rows: pd.DataFrame, features: list[str], split: TimeSplit, horizon_days: int, seed: int
) -> ValueValidation:
    """Fit on every cutoff but the newest, compare predictions with what happened on it."""
    train = rows[rows["cutoff_date"] != split.validation]
    validation = rows[rows["cutoff_date"] == split.validation]
    model = ValueModel(features, horizon_days, seed).fit(train)
    predicted = model.predict(validation)
    actual_revenue = validation["future_revenue"].to_numpy(dtype=float)
    # Baseline: last year's revenue run-rate over the horizon.
    run_rate = validation["revenue_last_365d"].to_numpy(dtype=float) * horizon_days / 365
    candidates = [(GRADIENT_BOOSTING, predicted["predicted_revenue"].to_numpy())]
    for kind in BTYD_VALUE:
        model.kind = kind
        candidates.append((kind, model.predict(validation)["predicted_revenue"].to_numpy()))
    model.kind = GRADIENT_BOOSTING
    records = []
    for name, values in [*candidates, ("run_rate_baseline", run_rate)]:
        values = np.nan_to_num(values, nan=0.0)
        records.append(
            {
                "predictor": name,
                "target": "future_revenue",
                "pearson": _safe(pearsonr, values, actual_revenue),
                "spearman": _safe(spearmanr, values, actual_revenue),
                "mae": float(np.mean(np.abs(values - actual_revenue))),
                "predicted_total": float(values.sum()),
                "actual_total": float(actual_revenue.sum()),
            }
        )
    orders = predicted["predicted_orders"].to_numpy()
    actual_orders = validation["future_orders"].to_numpy(dtype=float)
    records.append(
        {
            "predictor": "value_model",
            "target": "future_orders",
            "pearson": _safe(pearsonr, orders, actual_orders),
            "spearman": _safe(spearmanr, orders, actual_orders),
            "mae": float(np.mean(np.abs(orders - actual_orders))),
            "predicted_total": float(orders.sum()),
            "actual_total": float(actual_orders.sum()),
        }
    )
    metrics = pd.DataFrame(records)
    selected, note = select_value_predictor(metrics)
    metrics["selected"] = (metrics["predictor"] == selected) & (
        metrics["target"] == "future_revenue"
    )
    return ValueValidation(metrics, selected, note)


def _safe(statistic, values: np.ndarray, actual: np.ndarray) -> float:
    """A correlation, NaN when either side is constant (instead of a warning)."""
    if np.std(values) == 0 or np.std(actual) == 0:
        return float("nan")
    return float(statistic(values, actual).statistic)


def value_rows(training_set: pd.DataFrame, max_rows_per_cutoff: int, seed: int) -> pd.DataFrame:
    """Every customer (buyers and not) at every historical cutoff."""
    sampled = presampled(training_set, VALUE_SAMPLE)
    if sampled is not None:
        return sampled
    return limit_rows_per_cutoff(training_set, max_rows_per_cutoff, seed)
