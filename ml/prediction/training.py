"""Train churn and value models together from the churn_training_set mart."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.prediction.btyd_features import add_btyd_features
from ml.prediction.churn import ChurnConfig, ChurnTrainingResult, train_churn
from ml.prediction.dataset import model_features
from ml.prediction.drivers import typical_values
from ml.prediction.fairness import fairness_audit
from ml.prediction.model import PredictionModel, RiskTiers
from ml.prediction.scorers import CalibratedScorer
from ml.prediction.value import ValueModel, validate_value, value_rows


@dataclass
class PredictionTrainingResult:
    model: PredictionModel
    churn: ChurnTrainingResult
    value_metrics: pd.DataFrame
    fairness: pd.DataFrame
    training_rows: int

    @property
    def selected_auc(self) -> float:
        return self.churn.auc(self.churn.selected)


def train_prediction(
    training_set: pd.DataFrame,
    horizon_days: int,
    config: ChurnConfig | None = None,
    current_churn: CalibratedScorer | None = None,
    tiers: RiskTiers | None = None,
) -> PredictionTrainingResult:
    config = config or ChurnConfig()
    rows = add_btyd_features(training_set, horizon_days, cutoff_column="cutoff_date")
    churn = train_churn(rows, config, current=current_churn)
    features = model_features(rows)
    all_rows = value_rows(rows, config.max_rows_per_cutoff, config.random_state)
    value_validation = validate_value(
        all_rows, features, churn.split, horizon_days, config.random_state
    )
    value_model = ValueModel(features, horizon_days, config.random_state).fit(all_rows)
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
    )
