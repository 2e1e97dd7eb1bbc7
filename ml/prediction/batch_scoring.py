"""Fitted churn scorers as functions of one batch of rows, for an engine's map over partitions
(engines/: DuckDB record batches, Spark mapInPandas). Only row-local steps belong here: what is
fitted on the scored rows (the BTYD parameters of the as-of date) is fitted once before the
batches and passed in, and missing scores take the calibrator's training median, so a batch's
answer never depends on which other customers are in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.prediction.btyd_features import BtydFit
from ml.prediction.model import PredictionModel
from ml.prediction.scorers import CalibratedScorer

CHURN_PROBABILITY_SCHEMA = {"customer_id": "string", "churn_probability": "double"}


@dataclass
class ChurnProbabilityBatch:
    """customer_id and churn_probability for a batch of feature rows. Picklable, so an
    engine can broadcast it to its workers once."""

    model: CalibratedScorer

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if batch.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in CHURN_PROBABILITY_SCHEMA})
        probability = np.asarray(self.model.predict_proba(batch), dtype=float)
        return pd.DataFrame(
            {
                "customer_id": batch["customer_id"].astype(str).to_numpy(),
                "churn_probability": probability,
            }
        )


# The columns of ml.churn_scores, in order, with their portable types.
CHURN_SCORES_SCHEMA = {
    "customer_id": "string",
    "as_of_date": "date",
    "churn_probability": "double",
    "risk_tier": "string",
    "driver_1": "string",
    "driver_2": "string",
    "driver_3": "string",
    "predicted_orders": "double",
    "predicted_revenue": "double",
    "value_12m": "double",
    "expected_next_order_date": "date",
    "next_order_note": "string",
    "overdue_since": "date",
    "days_overdue": "bigint",
    "overdue": "boolean",
    "model_version": "string",
}


@dataclass
class CustomerScoresBatch:
    """The ml.churn_scores rows of a batch of customer_features rows: the model in use with the
    run's BTYD parameters fitted once before the batches, so every customer gets the score it
    would get in any other batch. Picklable, broadcast once to an engine's workers."""

    model: PredictionModel
    btyd: BtydFit
    model_version: str

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if batch.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in CHURN_SCORES_SCHEMA})
        scores = self.model.score(batch.reset_index(drop=True), self.btyd)
        scores.insert(1, "as_of_date", pd.to_datetime(batch["as_of_date"]).dt.date.to_numpy())
        scores["model_version"] = self.model_version
        return scores[list(CHURN_SCORES_SCHEMA)]
