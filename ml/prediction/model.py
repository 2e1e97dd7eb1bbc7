"""Everything the daily scoring needs, fitted together and persisted as one object."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.prediction.btyd_features import BtydFit, apply_btyd, fit_btyd
from ml.prediction.churn import is_active_buyer
from ml.prediction.drivers import churn_drivers
from ml.prediction.next_purchase import next_purchase
from ml.prediction.scorers import CalibratedScorer
from ml.prediction.value import ValueModel, twelve_month_value


@dataclass(frozen=True)
class RiskTiers:
    """Churn probability thresholds for active buyers: high >= high, medium >= medium, low
    below. Customers without orders are "no_orders"; buyers without an order in the active
    window have already churned: "lost"."""

    medium: float = 0.3
    high: float = 0.6

    def tier(self, probability: np.ndarray, frequency: np.ndarray) -> np.ndarray:
        p = np.asarray(probability, dtype=float)
        tiers = np.where(p >= self.high, "high", np.where(p >= self.medium, "medium", "low"))
        inactive = np.where(np.asarray(frequency) > 0, "lost", "no_orders")
        return np.where(np.isnan(p), inactive, tiers)


@dataclass
class PredictionModel:
    churn: CalibratedScorer
    value: ValueModel
    typical: pd.Series  # medians of the training rows, for drivers
    horizon_days: int
    tiers: RiskTiers
    active_window_days: int = 365

    def fit_btyd(self, buyers: pd.DataFrame) -> BtydFit:
        """The BTYD parameters of a scoring run (they change with the as-of date), fitted on
        customer_features rows of that date: all buyers or a hash-drawn sample of them."""
        return fit_btyd(buyers, cutoff_column="as_of_date")

    def score(self, features: pd.DataFrame, btyd: BtydFit | None = None) -> pd.DataFrame:
        """Per current customer (customer_features rows): churn probability and tier, drivers
        (medium and high tiers), predicted orders/revenue, 12-month value, next order date (or
        why there is none), overdue_since / days_overdue and the overdue flag.

        With `btyd` (fit_btyd, once per run) each row is scored alone, so any batch of the
        customers gives the same rows; without it the parameters are fitted on `features`."""
        fit = btyd if btyd is not None else self.fit_btyd(features)
        frame = apply_btyd(features, fit, self.horizon_days, cutoff_column="as_of_date")
        buyers = is_active_buyer(frame, self.active_window_days)
        probability = np.full(len(frame), np.nan)
        if buyers.any():
            probability[buyers.to_numpy()] = self.churn.predict_proba(frame[buyers])
        value = self.value.predict(frame)
        drivers = pd.DataFrame(
            index=frame.index, columns=["driver_1", "driver_2", "driver_3"], dtype=object
        )
        tiers = self.tiers.tier(probability, frame["frequency"].to_numpy())
        # Drivers explain a risk, so only medium and high tiers get them: each concept re-scores
        # every row, the largest share of scoring time on a big base.
        at_risk = np.isin(tiers, ["medium", "high"])
        if at_risk.any():
            drivers.loc[at_risk] = churn_drivers(
                self.churn, frame[at_risk], self.typical
            ).to_numpy()
        result = pd.DataFrame(
            {
                "customer_id": frame["customer_id"],
                # Unrounded: rounding would tie neighbours and undo the ranking calibration kept.
                "churn_probability": probability,
                "risk_tier": tiers,
            },
            index=frame.index,
        )
        result = result.join(drivers)
        result["predicted_orders"] = value["predicted_orders"].round(3)
        result["predicted_revenue"] = value["predicted_revenue"].round(2)
        result["value_12m"] = np.round(
            twelve_month_value(value["predicted_revenue"], probability, self.horizon_days), 2
        )
        return result.join(next_purchase(frame, self.active_window_days))
