"""Churn scorers: the gradient-boosting model and the baselines it must beat, all with the same
interface (fit on training rows, score = higher means more likely to churn), plus calibration
that turns any score into a probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ml.prediction.dataset import as_matrix

ISOTONIC_MIN_ROWS = 1000


class Scorer:
    name = "scorer"
    description = ""
    features: tuple[str, ...] = ()

    def fit(self, train: pd.DataFrame, y: np.ndarray) -> Scorer:
        return self

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def attribution_score(self, frame: pd.DataFrame) -> np.ndarray:
        """An unbounded version of the score for per-customer attribution (no saturation)."""
        return self.score(frame)


class RecencyScorer(Scorer):
    name = "recency"
    description = "days since the last order (longer = more likely to churn)"
    features = ("recency_days",)

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["recency_days"].to_numpy(dtype=float)


class RfmScorer(Scorer):
    name = "rfm_score"
    description = "R + F + M quintile scores (lower = more likely to churn)"
    features = ("r_score", "f_score", "m_score")

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        total = frame[["r_score", "f_score", "m_score"]].astype(float).fillna(0).sum(axis=1)
        return -total.to_numpy()


class BtydScorer(Scorer):
    name = "bg_nbd"
    description = "BG/NBD probability of no purchase within the horizon (fitted per cutoff)"
    features = ("btyd_p_no_purchase",)

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["btyd_p_no_purchase"].to_numpy(dtype=float)


class GradientBoostingScorer(Scorer):
    name = "gradient_boosting"
    description = "HistGradientBoostingClassifier on the point-in-time features"

    def __init__(self, features: list[str], random_state: int = 42, max_iter: int = 300) -> None:
        self.features = tuple(features)
        self.random_state = random_state
        self.max_iter = max_iter

    def fit(self, train: pd.DataFrame, y: np.ndarray) -> GradientBoostingScorer:
        self.features = informative_features(train, self.features)
        self.model_ = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=self.max_iter,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,  # a fixed number of rounds keeps the fit deterministic
            random_state=self.random_state,
        )
        self.model_.fit(as_matrix(train, list(self.features)), y)
        return self

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(as_matrix(frame, list(self.features)))[:, 1]

    def attribution_score(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model_.decision_function(as_matrix(frame, list(self.features)))


class Calibrator:
    """Score -> probability: isotonic with enough rows, Platt (logistic) scaling otherwise."""

    def fit(self, score: np.ndarray, y: np.ndarray) -> Calibrator:
        score = _finite(score)
        if len(score) >= ISOTONIC_MIN_ROWS:
            self.method_ = "isotonic"
            self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            self.model_.fit(score, y)
        else:
            self.method_ = "platt"
            self.model_ = LogisticRegression().fit(score.reshape(-1, 1), y)
        return self

    def predict(self, score: np.ndarray) -> np.ndarray:
        score = _finite(score)
        if self.method_ == "isotonic":
            return self.model_.predict(score)
        return self.model_.predict_proba(score.reshape(-1, 1))[:, 1]


class CalibratedScorer:
    """A fitted scorer with its calibrator: what scores customers in production."""

    def __init__(self, scorer: Scorer, calibrator: Calibrator) -> None:
        self.scorer = scorer
        self.calibrator = calibrator

    @property
    def name(self) -> str:
        return self.scorer.name

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.calibrator.predict(self.scorer.score(frame))


def informative_features(
    train: pd.DataFrame, features: tuple[str, ...] | list[str]
) -> tuple[str, ...]:
    """Features with at least two distinct known values in the training rows (a column that is
    constant or entirely missing, e.g. engagement on transactions-only data, carries nothing)."""
    return tuple(c for c in features if train[c].nunique(dropna=True) >= 2)


def baseline_scorers() -> list[Scorer]:
    return [RecencyScorer(), RfmScorer(), BtydScorer()]


def _finite(score: np.ndarray) -> np.ndarray:
    """NaN scores (e.g. no BG/NBD estimate) rank as the middle of the finite ones."""
    score = np.asarray(score, dtype=float)
    if np.isnan(score).any():
        score = np.where(
            np.isnan(score), np.nanmedian(score) if np.isfinite(score).any() else 0.0, score
        )
    return score
