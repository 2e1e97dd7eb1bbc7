"""Fitted churn scorers as functions of one batch of rows, for an engine's map over partitions
(engines/: DuckDB record batches, Spark mapInPandas). Only row-local steps belong here: a step
that fits on the frame it scores (BTYD parameters per cutoff) or imputes from it would give
another answer per batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
