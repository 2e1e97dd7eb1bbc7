"""Predicted orders and revenue in the next horizon, and a 12-month customer value.

Targets are zero-heavy counts and amounts, so both regressors use a Poisson loss (a log link
that never predicts below zero; for revenue it acts as quasi-Poisson). Validation is the same
time-based split as churn: fitted on older cutoffs, evaluated on the newest.
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


class ValueModel:
    def __init__(self, features: list[str], horizon_days: int, random_state: int = 42) -> None:
        self.features = list(features)
        self.horizon_days = horizon_days
        self.random_state = random_state

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
        x = as_matrix(frame, self.features)
        return pd.DataFrame(
            {
                "predicted_orders": np.maximum(self.orders_.predict(x), 0),
                "predicted_revenue": np.maximum(self.revenue_.predict(x), 0),
            },
            index=frame.index,
        )


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
    records = []
    for name, values in (
        ("value_model", predicted["predicted_revenue"].to_numpy()),
        ("run_rate_baseline", run_rate),
    ):
        records.append(
            {
                "predictor": name,
                "target": "future_revenue",
                "pearson": float(pearsonr(values, actual_revenue).statistic),
                "spearman": float(spearmanr(values, actual_revenue).statistic),
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
            "pearson": float(pearsonr(orders, actual_orders).statistic),
            "spearman": float(spearmanr(orders, actual_orders).statistic),
            "mae": float(np.mean(np.abs(orders - actual_orders))),
            "predicted_total": float(orders.sum()),
            "actual_total": float(actual_orders.sum()),
        }
    )
    return ValueValidation(pd.DataFrame(records))


def value_rows(training_set: pd.DataFrame, max_rows_per_cutoff: int, seed: int) -> pd.DataFrame:
    """Every customer (buyers and not) at every historical cutoff."""
    sampled = presampled(training_set, VALUE_SAMPLE)
    if sampled is not None:
        return sampled
    return limit_rows_per_cutoff(training_set, max_rows_per_cutoff, seed)
