"""Train churn and value models together from the churn_training_set mart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.prediction.btyd_features import add_btyd_features
from ml.prediction.churn import ChurnConfig, ChurnTrainingResult, btyd_fallback, train_churn
from ml.prediction.dataset import InsufficientDataError, model_features
from ml.prediction.drivers import typical_values
from ml.prediction.fairness import fairness_audit
from ml.prediction.model import PredictionModel, RiskTiers
from ml.prediction.scorers import CalibratedScorer
from ml.prediction.value import ValueModel, validate_value, value_rows

FALLBACK_VALUE = "pareto_nbd_gamma_gamma"


@dataclass
class PredictionTrainingResult:
    model: PredictionModel
    churn: ChurnTrainingResult
    value_metrics: pd.DataFrame
    fairness: pd.DataFrame
    training_rows: int
    value_note: str = ""

    @property
    def selected_auc(self) -> float:
        return self.churn.auc(self.churn.selected)


def train_prediction(
    training_set: pd.DataFrame,
    horizon_days: int,
    config: ChurnConfig | None = None,
    current_churn: CalibratedScorer | None = None,
    tiers: RiskTiers | None = None,
    scoring_tenure: np.ndarray | None = None,
) -> PredictionTrainingResult:
    """`scoring_tenure`: tenure_days of the active buyers scored at the as-of date (the churn
    validation is weighted to their tenure mix). With too little labelled history the result
    is a BTYD fallback (``result.churn.fallback``) instead of an error."""
    config = config or ChurnConfig()
    rows = add_btyd_features(training_set, horizon_days, cutoff_column="cutoff_date")
    features = model_features(rows)
    all_rows = value_rows(rows, config.max_rows_per_cutoff, config.random_state)
    try:
        churn = train_churn(rows, config, current=current_churn, scoring_tenure=scoring_tenure)
    except InsufficientDataError as exc:
        return _fallback(str(exc), features, all_rows, horizon_days, config, tiers, len(rows))
    value_validation = validate_value(
        all_rows, features, churn.split, horizon_days, config.random_state
    )
    value_model = ValueModel(
        features, horizon_days, config.random_state, kind=value_validation.selected
    ).fit(all_rows)
    buyers = all_rows[all_rows["frequency"] > 0]
    model = PredictionModel(
        churn=churn.production,
        value=value_model,
        typical=typical_values(buyers, features),
        horizon_days=horizon_days,
        tiers=tiers or RiskTiers(),
        active_window_days=config.active_window_days,
    )
    return PredictionTrainingResult(
        model=model,
        churn=churn,
        value_metrics=value_validation.metrics,
        fairness=fairness_audit(churn.validation_rows),
        training_rows=len(rows),
        value_note=value_validation.selection_note,
    )


def _fallback(
    reason: str,
    features: list[str],
    all_rows: pd.DataFrame,
    horizon_days: int,
    config: ChurnConfig,
    tiers: RiskTiers | None,
    training_rows: int,
) -> PredictionTrainingResult:
    """No trainable history: Pareto/NBD scores churn, Pareto/NBD x Gamma-Gamma the value."""
    churn = btyd_fallback(reason)
    buyers = all_rows[all_rows["frequency"] > 0] if len(all_rows) else all_rows
    model = PredictionModel(
        churn=churn.production,
        value=ValueModel(features, horizon_days, config.random_state, kind=FALLBACK_VALUE),
        typical=typical_values(buyers, features) if len(buyers) else pd.Series(dtype=float),
        horizon_days=horizon_days,
        tiers=tiers or RiskTiers(),
        active_window_days=config.active_window_days,
    )
    return PredictionTrainingResult(
        model=model,
        churn=churn,
        value_metrics=pd.DataFrame(
            columns=["predictor", "target", "pearson", "spearman", "mae", "predicted_total"]
        ),
        fairness=pd.DataFrame(),
        training_rows=training_rows,
        value_note=f"fallback: {FALLBACK_VALUE} (expected orders x spend, not validated)",
    )
