"""Train and validate the churn model against its baselines on a time-based split.

Evaluation recipe (reported): every candidate is fitted on the older cutoffs, calibrated on the
second-newest and validated on the newest cutoff (never trained on). The gradient-boosting
model is selected only if it beats every baseline on that validation; otherwise the best
baseline scores customers and the metrics say so. The production model repeats the selected
recipe one cutoff newer (trained through the second-newest cutoff, calibrated on the newest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from ml.prediction.dataset import (
    CHURN_SAMPLE,
    InsufficientDataError,
    TimeSplit,
    as_matrix,
    limit_rows_per_cutoff,
    model_features,
    presampled,
    time_split,
)
from ml.prediction.metrics import calibration_table, evaluate
from ml.prediction.scorers import (
    CalibratedScorer,
    Calibrator,
    GradientBoostingScorer,
    Scorer,
    baseline_scorers,
)


@dataclass(frozen=True)
class ChurnConfig:
    # Churn is predicted for active buyers: at least one order in this many days before the
    # cutoff. Customers gone longer than that have already churned (risk tier "lost").
    active_window_days: int = 365
    min_rows_per_split: int = 200
    min_class_rows: int = 20
    max_rows_per_cutoff: int = 20_000
    importance_sample: int = 20_000
    random_state: int = 42


@dataclass
class ChurnTrainingResult:
    split: TimeSplit
    features: list[str]
    metrics: pd.DataFrame  # one row per scorer (candidates and baselines) on the validation
    calibration: pd.DataFrame  # per scorer and decile
    selected: str
    selection_note: str
    production: CalibratedScorer
    validation_rows: pd.DataFrame = field(repr=False)  # validation features + y + probability
    validation_probabilities: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # The scores the metrics (and the ROC chart) rank by: raw scorer output, gaps at the median.
    validation_scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    importance: pd.DataFrame | None = None

    def auc(self, scorer: str) -> float:
        return float(self.metrics.loc[self.metrics["scorer"] == scorer, "roc_auc"].iloc[0])


def is_active_buyer(frame: pd.DataFrame, active_window_days: int) -> pd.Series:
    return (frame["frequency"] > 0) & (frame["recency_days"] <= active_window_days)


def churn_rows(training_set: pd.DataFrame, config: ChurnConfig) -> pd.DataFrame:
    """Active buyers with a defined label, at most max_rows_per_cutoff per cutoff."""
    sampled = presampled(training_set, CHURN_SAMPLE)
    source = training_set if sampled is None else sampled
    rows = source[is_active_buyer(source, config.active_window_days) & source["churned"].notna()]
    if sampled is not None:
        return rows  # sampled upstream with the same cap
    return limit_rows_per_cutoff(rows, config.max_rows_per_cutoff, config.random_state)


def _check_sizes(rows: pd.DataFrame, split: TimeSplit, config: ChurnConfig) -> None:
    parts = {
        "validation": rows[rows["cutoff_date"] == split.validation],
        "calibration": rows[rows["cutoff_date"] == split.calibration],
        "training": rows[rows["cutoff_date"].isin(split.training)],
    }
    for name, part in parts.items():
        churners = int(part["churned"].sum())
        stayers = len(part) - churners
        if len(part) < config.min_rows_per_split or min(churners, stayers) < config.min_class_rows:
            raise InsufficientDataError(
                f"too few labelled buyers to train a churn model: the {name} cutoff(s) have "
                f"{len(part)} active buyers ({churners} churned, {stayers} stayed); at least "
                f"{config.min_rows_per_split} with {config.min_class_rows} of each are needed. "
                "Choose a later as-of date or a shorter churn horizon."
            )


def _fit_recipe(
    scorer: Scorer, rows: pd.DataFrame, train_cutoffs: tuple, calibration_cutoff: pd.Timestamp
) -> CalibratedScorer:
    train = rows[rows["cutoff_date"].isin(train_cutoffs)]
    calibrate = rows[rows["cutoff_date"] == calibration_cutoff]
    scorer.fit(train, train["churned"].to_numpy(dtype=int))
    calibrator = Calibrator().fit(scorer.score(calibrate), calibrate["churned"].to_numpy(dtype=int))
    return CalibratedScorer(scorer, calibrator)


def train_churn(
    training_rows: pd.DataFrame,
    config: ChurnConfig | None = None,
    current: CalibratedScorer | None = None,
) -> ChurnTrainingResult:
    """`training_rows`: churn_training_set rows with BTYD features added (see btyd_features)."""
    config = config or ChurnConfig()
    rows = churn_rows(training_rows, config)
    split = time_split(rows["cutoff_date"])
    _check_sizes(rows, split, config)
    features = model_features(rows)
    validation = rows[rows["cutoff_date"] == split.validation]
    y = validation["churned"].to_numpy(dtype=int)

    def make(name: str) -> Scorer:
        if name == GradientBoostingScorer.name:
            return GradientBoostingScorer(features, random_state=config.random_state)
        return next(s for s in baseline_scorers() if s.name == name)

    names = [GradientBoostingScorer.name, *(s.name for s in baseline_scorers())]
    fitted = {
        name: _fit_recipe(make(name), rows, split.training, split.calibration) for name in names
    }
    if current is not None:
        fitted["current_model"] = current
    metric_rows, calibration_parts, probabilities, ranked_scores = [], [], {}, {}
    for name, model in fitted.items():
        probability = model.predict_proba(validation)
        probabilities[name] = probability
        scores = model.scorer.score(validation)
        ranked_scores[name] = np.nan_to_num(scores, nan=np.nanmedian(scores))
        metric_rows.append(
            {
                "scorer": name,
                "description": model.scorer.description,
                **evaluate(y, ranked_scores[name], probability),
            }
        )
        calibration_parts.append(calibration_table(y, probability).assign(scorer=name))
    metrics = pd.DataFrame(metric_rows)

    auc = dict(zip(metrics["scorer"], metrics["roc_auc"], strict=True))
    baselines = {s.name: auc[s.name] for s in baseline_scorers()}
    best_baseline = max(baselines, key=baselines.get)
    if auc["gradient_boosting"] > max(baselines.values()):
        selected = "gradient_boosting"
        note = (
            f"gradient boosting AUC {auc['gradient_boosting']:.3f} beats every baseline "
            f"(best: {best_baseline} {baselines[best_baseline]:.3f})"
        )
    else:
        selected = best_baseline
        note = (
            f"gradient boosting AUC {auc['gradient_boosting']:.3f} does not beat the "
            f"{best_baseline} baseline ({baselines[best_baseline]:.3f}) on this data: "
            f"{best_baseline} scores customers instead"
        )
    metrics["selected"] = metrics["scorer"] == selected

    production_split = split.shifted()
    production = _fit_recipe(
        make(selected), rows, production_split.training, production_split.calibration
    )

    importance = None
    if selected == "gradient_boosting":
        importance = _permutation_importance(fitted[selected], validation, y, config)
    validation_rows = validation.assign(churned_actual=y, churn_probability=probabilities[selected])
    return ChurnTrainingResult(
        split=split,
        features=features,
        metrics=metrics,
        calibration=pd.concat(calibration_parts, ignore_index=True),
        selected=selected,
        selection_note=note,
        production=production,
        validation_rows=validation_rows,
        validation_probabilities=probabilities,
        validation_scores=ranked_scores,
        importance=importance,
    )


def _permutation_importance(
    model: CalibratedScorer, validation: pd.DataFrame, y: np.ndarray, config: ChurnConfig
) -> pd.DataFrame:
    """Drop in validation ROC AUC when each feature is shuffled (global importance)."""
    scorer = model.scorer
    sample = validation
    if len(sample) > config.importance_sample:
        sample = sample.sample(config.importance_sample, random_state=config.random_state)
        y = sample["churned"].to_numpy(dtype=int)
    result = permutation_importance(
        scorer.model_,
        as_matrix(sample, list(scorer.features)),
        y,
        scoring="roc_auc",
        n_repeats=3,
        random_state=config.random_state,
    )
    table = pd.DataFrame(
        {
            "feature": list(scorer.features),
            "auc_drop": result.importances_mean,
            "auc_drop_std": result.importances_std,
        }
    )
    return table.sort_values("auc_drop", ascending=False, kind="stable").reset_index(drop=True)
