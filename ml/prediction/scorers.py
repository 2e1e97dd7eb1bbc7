"""Churn scorers: the gradient-boosting model and the baselines it must beat, all with the same
interface (fit on training rows, score = higher means more likely to churn), plus calibration
that turns any score into a probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ml.prediction.dataset import as_matrix

ISOTONIC_MIN_ROWS = 1000


class Scorer:
    name = "scorer"
    description = ""
    features: tuple[str, ...] = ()
    btyd = False

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
    btyd = True  # needs no labels: fitted on the order history alone

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[self.features[0]].to_numpy(dtype=float)


class ParetoNbdScorer(BtydScorer):
    name = "pareto_nbd"
    description = "Pareto/NBD probability of no purchase within the horizon (fitted per cutoff)"
    features = ("pnbd_p_no_purchase",)


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


# Published probabilities stay inside [EPS, 1 - EPS]: no model is certain.
EPS = 1e-4


class Calibrator:
    """Score -> probability, strictly increasing so the ranking survives calibration.

    Scores are first put on a log-odds scale (logit of a score in [0, 1], else standardised).
    With enough rows an isotonic fit finds the shape; its block centres (mean score, churn
    rate) are joined by a monotone cubic (PCHIP) in log-odds, so equal scores stay equal and
    different scores stay different (plain isotonic output is a staircase of plateaus). Beyond
    the outermost centres, and with few rows altogether, Platt scaling's slope continues the
    curve. Probabilities are clipped to [EPS, 1 - EPS]."""

    def fit(self, score: np.ndarray, y: np.ndarray) -> Calibrator:
        raw = np.asarray(score, dtype=float)
        # A missing score later takes the middle of the training scores, not of the batch
        # being scored: a customer's probability must not depend on who is scored with them.
        self.fill_ = float(np.nanmedian(raw)) if np.isfinite(raw).any() else 0.0
        score = _finite(raw, self.fill_)
        self.logit_input_ = bool(np.all((score >= 0) & (score <= 1)))
        self.centre_, self.spread_ = 0.0, 1.0
        if not self.logit_input_:
            self.centre_ = float(np.mean(score))
            self.spread_ = float(np.std(score)) or 1.0
        z = self._z(score)
        y = np.asarray(y, dtype=float)
        platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), y)
        self.slope_ = max(float(platt.coef_[0, 0]), 1e-3)  # strictly increasing
        self.intercept_ = float(platt.intercept_[0])
        self.knots_: np.ndarray | None = None
        if len(z) >= ISOTONIC_MIN_ROWS:
            self.method_ = "isotonic_pchip"
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(z, y)
            blocks = (
                pd.DataFrame({"z": z, "y": y, "block": iso.predict(z)})
                .groupby("block", sort=True)
                .agg(z=("z", "mean"), churned=("y", "sum"), rows=("y", "size"))
            )
            # Laplace-smoothed block rates: a block of all churners is not a certainty.
            rate = (blocks["churned"] + 0.5) / (blocks["rows"] + 1.0)
            knots_p = _logit(rate.to_numpy(dtype=float))
            knots_z = blocks["z"].to_numpy(dtype=float)
            order = np.argsort(knots_z, kind="stable")
            knots_z, knots_p = knots_z[order], knots_p[order]
            keep = np.zeros(len(knots_z), dtype=bool)
            for i in range(len(knots_z)):  # strictly increasing knots only (few blocks)
                last = np.flatnonzero(keep)[-1] if keep.any() else None
                keep[i] = last is None or (
                    knots_z[i] > knots_z[last] and knots_p[i] > knots_p[last]
                )
            if keep.sum() >= 2:
                self.knots_ = np.column_stack([knots_z[keep], knots_p[keep]])
                self.curve_ = PchipInterpolator(self.knots_[:, 0], self.knots_[:, 1])
        if self.knots_ is None:
            self.method_ = "platt"
        return self

    def _z(self, score: np.ndarray) -> np.ndarray:
        if self.logit_input_:
            return _logit(np.clip(score, 1e-9, 1 - 1e-9))
        return (score - self.centre_) / self.spread_

    def predict(self, score: np.ndarray) -> np.ndarray:
        if not hasattr(self, "logit_input_"):  # a model stored before calibration kept ranks
            return _legacy_predict(self, _finite(score))
        z = self._z(_finite(score, getattr(self, "fill_", None)))
        if self.knots_ is None:
            log_odds = self.intercept_ + self.slope_ * z
        else:
            (z_lo, p_lo), (z_hi, p_hi) = self.knots_[0], self.knots_[-1]
            inside = self.curve_(np.clip(z, z_lo, z_hi))
            log_odds = np.where(
                z < z_lo,
                p_lo + self.slope_ * (z - z_lo),
                np.where(z > z_hi, p_hi + self.slope_ * (z - z_hi), inside),
            )
        return _squash(expit(log_odds))


class IdentityCalibrator(Calibrator):
    """For a score that is already a model probability (a BTYD fit without labels to calibrate
    on): only the clipping to [EPS, 1 - EPS]."""

    method_ = "none"
    # No estimate (too few buyers to fit the BTYD model): neither side, whatever the batch.
    fill_ = 0.5

    def fit(self, score: np.ndarray, y: np.ndarray) -> IdentityCalibrator:
        return self

    def predict(self, score: np.ndarray) -> np.ndarray:
        return _squash(np.clip(_finite(score, self.fill_), 0.0, 1.0))


def _squash(p: np.ndarray) -> np.ndarray:
    """[0, 1] -> [EPS, 1 - EPS], strictly increasing (clipping would tie the extremes)."""
    return EPS + (1 - 2 * EPS) * p


def _legacy_predict(calibrator: Calibrator, score: np.ndarray) -> np.ndarray:
    if calibrator.method_ == "isotonic":
        return calibrator.model_.predict(score)
    return calibrator.model_.predict_proba(score.reshape(-1, 1))[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


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
    return [RecencyScorer(), RfmScorer(), BtydScorer(), ParetoNbdScorer()]


def _finite(score: np.ndarray, fill: float | None = None) -> np.ndarray:
    """NaN scores (e.g. no BG/NBD estimate) take `fill` (the calibrator's training median);
    without one (a model stored before it was kept) the middle of these finite scores."""
    score = np.asarray(score, dtype=float)
    if np.isnan(score).any():
        if fill is None:
            fill = float(np.nanmedian(score)) if np.isfinite(score).any() else 0.0
        score = np.where(np.isnan(score), fill, score)
    return score
