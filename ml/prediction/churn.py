"""Train and validate the churn model against its baselines on a time-based split.

Evaluation recipe (reported): every candidate is fitted on the older cutoffs, calibrated on the
second-newest and validated on the newest cutoff (never trained on). With only two cutoffs the
older one is split by customer: 70% to train, 30% to calibrate.

The validation resembles the scoring situation: its rows are weighted so their tenure mix
matches the active buyers scored at the as-of date (a young validation cohort would otherwise
favour a model that only knows young customers). Every AUC reported is this tenure-matched
AUC. The reference is the better of the two BTYD models (Pareto/NBD, BG/NBD): fitted without
labels, they model exactly the label (no purchase within the horizon) and extrapolate to older
customers. Another scorer (gradient boosting, which also sees the BTYD estimates as features;
recency; RFM) replaces it only if it beats it by more than the paired-bootstrap standard
error of the AUC difference (the best such scorer); the note says which and why. The
production model repeats the selected recipe one cutoff newer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

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
    IdentityCalibrator,
    ParetoNbdScorer,
    Scorer,
    baseline_scorers,
)

CALIBRATION_SHARE = 0.3  # of the customers of the only training cutoff, with two cutoffs
BOOTSTRAP_ROUNDS = 100
TENURE_BINS = 10


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
    # Tenure weights of the validation rows: the metrics' roc_auc (and the chart) use them.
    validation_weights: np.ndarray | None = field(default=None, repr=False)
    importance: pd.DataFrame | None = None
    fallback: bool = False  # too little history to train: a BTYD model scores, unvalidated
    # Standard error of AUC(selected) - AUC(recency): the gate tolerates a deficit within it
    # (a BTYD model chosen as reference may trail recency by noise on one validation cutoff).
    recency_margin: float = 0.0

    def auc(self, scorer: str) -> float:
        match = self.metrics.loc[self.metrics["scorer"] == scorer, "roc_auc"]
        return float(match.iloc[0]) if len(match) else float("nan")


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
    if calibration_cutoff in train_cutoffs:  # two cutoffs: hold customers out to calibrate
        held = _held_out(calibrate["customer_id"])
        calibrate = calibrate[held]
        train = train.drop(index=calibrate.index)
    scorer.fit(train, train["churned"].to_numpy(dtype=int))
    calibrator = Calibrator().fit(scorer.score(calibrate), calibrate["churned"].to_numpy(dtype=int))
    return CalibratedScorer(scorer, calibrator)


def _held_out(customer_ids: pd.Series) -> np.ndarray:
    """A deterministic CALIBRATION_SHARE of customers, drawn by a hash of the id."""
    draw = pd.util.hash_pandas_object(customer_ids.astype(str), index=False).to_numpy()
    return (draw % 1000) < CALIBRATION_SHARE * 1000


def tenure_weights(validation_tenure: np.ndarray, scoring_tenure: np.ndarray | None) -> np.ndarray:
    """Weights that give the validation rows the tenure mix of the customers being scored:
    per tenure decile of the scored customers, (share scored) / (share of validation rows).
    Validation rows outside the scored range count in the nearest decile; a decile without
    validation rows cannot be represented (its weight is spread over the others)."""
    validation_tenure = np.asarray(validation_tenure, dtype=float)
    ones = np.ones(len(validation_tenure))
    if scoring_tenure is None or len(scoring_tenure) < TENURE_BINS:
        return ones
    edges = np.unique(
        np.quantile(np.asarray(scoring_tenure, dtype=float), np.linspace(0, 1, TENURE_BINS + 1))
    )
    if len(edges) < 3:
        return ones
    inner = edges[1:-1]
    scored_bin = np.searchsorted(inner, scoring_tenure, side="right")
    validation_bin = np.searchsorted(inner, np.nan_to_num(validation_tenure), side="right")
    scored_share = np.bincount(scored_bin, minlength=len(edges) - 1) / len(scoring_tenure)
    validation_count = np.bincount(validation_bin, minlength=len(edges) - 1)
    per_bin = np.where(validation_count > 0, scored_share / np.maximum(validation_count, 1), 0.0)
    weights = per_bin[validation_bin]
    return weights * len(weights) / weights.sum()


def weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> float:
    return float(roc_auc_score(y, score, sample_weight=weights))


def _auc_difference_se(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, weights: np.ndarray, seed: int
) -> float:
    """Paired-bootstrap standard error of AUC(a) - AUC(b) on the same validation rows."""
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(BOOTSTRAP_ROUNDS):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) < 2:
            continue
        differences.append(
            weighted_auc(y[idx], a[idx], weights[idx]) - weighted_auc(y[idx], b[idx], weights[idx])
        )
    return float(np.std(differences)) if len(differences) > 1 else float("inf")


def train_churn(
    training_rows: pd.DataFrame,
    config: ChurnConfig | None = None,
    current: CalibratedScorer | None = None,
    scoring_tenure: np.ndarray | None = None,
) -> ChurnTrainingResult:
    """`training_rows`: churn_training_set rows with BTYD features added (see btyd_features).
    `scoring_tenure`: tenure_days of the active buyers that will be scored (weights the
    validation to their tenure mix; None: unweighted)."""
    config = config or ChurnConfig()
    rows = churn_rows(training_rows, config)
    split = time_split(rows["cutoff_date"])
    _check_sizes(rows, split, config)
    features = model_features(rows)
    validation = rows[rows["cutoff_date"] == split.validation]
    y = validation["churned"].to_numpy(dtype=int)
    weights = tenure_weights(validation["tenure_days"].to_numpy(dtype=float), scoring_tenure)

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
    metric_rows, calibration_parts, probabilities, raw = [], [], {}, {}
    for name, model in fitted.items():
        probability = model.predict_proba(validation)
        probabilities[name] = probability
        scores = model.scorer.score(validation)
        raw[name] = np.nan_to_num(scores, nan=np.nanmedian(scores))
        metric_rows.append(
            {
                "scorer": name,
                "description": model.scorer.description,
                **evaluate(y, raw[name], probability, weights),
            }
        )
        calibration_parts.append(calibration_table(y, probability).assign(scorer=name))
    metrics = pd.DataFrame(metric_rows)

    auc = dict(zip(metrics["scorer"], metrics["roc_auc"], strict=True))
    btyd = [s.name for s in baseline_scorers() if s.btyd]
    reference = max(btyd, key=auc.get)
    challengers = [name for name in names if name != reference and name not in btyd]
    margins = {
        name: (
            auc[name] - auc[reference],
            _auc_difference_se(y, raw[name], raw[reference], weights, config.random_state),
        )
        for name in challengers
    }
    winners = [name for name, (gain, se) in margins.items() if gain > se]
    coverage = _tenure_coverage(validation["tenure_days"].to_numpy(dtype=float), scoring_tenure)
    if winners:
        selected = max(winners, key=auc.get)
        gain, se = margins[selected]
        note = (
            f"{selected} AUC {auc[selected]:.3f} beats the {reference} model "
            f"({auc[reference]:.3f}) by {gain:.3f}, more than the standard error of the "
            f"difference ({se:.3f})"
        )
    else:
        selected = reference
        best = max(challengers, key=auc.get)
        gain, se = margins[best]
        note = (
            f"no scorer beats the {reference} model (AUC {auc[reference]:.3f}) by more than "
            f"the standard error of the difference (best: {best} {auc[best]:.3f}, "
            f"SE {se:.3f}): {reference} scores customers"
        )
    note += f"; AUCs weighted to the tenure mix of the customers scored ({coverage})"
    metrics["selected"] = metrics["scorer"] == selected
    recency_margin = (
        0.0
        if selected == "recency"
        else _auc_difference_se(y, raw[selected], raw["recency"], weights, config.random_state)
    )

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
        validation_scores=raw,
        validation_weights=weights,
        importance=importance,
        recency_margin=recency_margin,
    )


def _tenure_coverage(validation_tenure: np.ndarray, scoring_tenure: np.ndarray | None) -> str:
    if scoring_tenure is None or len(scoring_tenure) == 0:
        return "no scored customers given: unweighted"
    lo, hi = np.nanmin(validation_tenure), np.nanmax(validation_tenure)
    inside = float(np.mean((scoring_tenure >= lo) & (scoring_tenure <= hi)))
    return f"{inside:.0%} of them have a tenure seen in the validation rows"


def btyd_fallback(reason: str) -> ChurnTrainingResult:
    """Too little labelled history to train or validate: Pareto/NBD, fitted on the order
    history before the as-of date (no labels needed), scores customers uncalibrated."""
    nan = float("nan")
    metrics = pd.DataFrame(
        [
            {
                "scorer": ParetoNbdScorer.name,
                "description": ParetoNbdScorer.description + " (fallback: not validated)",
                "roc_auc": nan,
                "roc_auc_unweighted": nan,
                "pr_auc": nan,
                "top_decile_lift": nan,
                "base_rate": nan,
                "rows": 0,
                "brier": nan,
                "ece": nan,
                "selected": True,
            }
        ]
    )
    return ChurnTrainingResult(
        split=None,  # type: ignore[arg-type]
        features=list(ParetoNbdScorer.features),
        metrics=metrics,
        calibration=pd.DataFrame(
            columns=["decile", "customers", "mean_predicted", "observed_rate", "scorer"]
        ),
        selected=ParetoNbdScorer.name,
        selection_note=(
            f"fallback: {reason} Pareto/NBD fitted on the order history before the as-of date "
            "scores customers (P(no purchase within the horizon), not validated or calibrated "
            "against observed churn)."
        ),
        production=CalibratedScorer(ParetoNbdScorer(), IdentityCalibrator()),
        validation_rows=pd.DataFrame(),
        fallback=True,
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
