"""Has the customer base moved away from what the segmentation model was trained on?

Two signals, both cheap at 1M customers:
- share of customers far from every centroid: farther than the 99th percentile of training
  distances (about 1% by construction on the training data);
- feature distribution shift: population stability index (PSI) of each feature against the
  training deciles (PSI > 0.25 is the usual "significant shift" mark).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FAR_QUANTILE = 0.99
_MIN_SHARE = 1e-4  # floor per bin so an empty bin does not make PSI infinite


@dataclass(frozen=True)
class DriftThresholds:
    far_share: float = 0.05
    max_psi: float = 0.25


def _bin_shares(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Shares of values in the bins between edges, open-ended at both ends."""
    inner = np.asarray(edges[1:-1])
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(edges) - 1)
    return counts / max(len(values), 1)


@dataclass(frozen=True)
class FeatureReference:
    """What drift is measured against, kept with the model."""

    edges: dict[str, list[float]]
    shares: dict[str, list[float]]
    far_distance: float

    @classmethod
    def from_training(cls, raw: pd.DataFrame, distances: np.ndarray) -> FeatureReference:
        edges, shares = {}, {}
        for column in raw.columns:
            values = raw[column].to_numpy(dtype=float)
            column_edges = np.unique(np.quantile(values, np.linspace(0, 1, 11))).tolist()
            if len(column_edges) < 2:  # a constant feature: one bin holding everything
                column_edges = [column_edges[0], column_edges[0]]
            edges[column] = column_edges
            shares[column] = _bin_shares(values, column_edges).tolist()
        return cls(edges, shares, float(np.quantile(distances, FAR_QUANTILE)))


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(np.asarray(expected, dtype=float), _MIN_SHARE)
    a = np.maximum(np.asarray(actual, dtype=float), _MIN_SHARE)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class DriftReport:
    far_share: float
    psi: dict[str, float]
    thresholds: DriftThresholds

    @property
    def max_psi(self) -> float:
        return max(self.psi.values(), default=0.0)

    @property
    def drifted(self) -> bool:
        return self.far_share > self.thresholds.far_share or self.max_psi > self.thresholds.max_psi

    def summary(self) -> str:
        worst = max(self.psi, key=self.psi.get) if self.psi else "none"
        return (
            f"{self.far_share:.1%} of customers far from every centroid "
            f"(threshold {self.thresholds.far_share:.0%}); largest feature shift PSI "
            f"{self.max_psi:.3f} on {worst} (threshold {self.thresholds.max_psi})"
        )


def measure_drift(
    reference: FeatureReference,
    current_raw: pd.DataFrame,
    current_distances: np.ndarray,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    psi = {
        column: population_stability_index(
            reference.shares[column],
            _bin_shares(current_raw[column].to_numpy(dtype=float), edges),
        )
        for column, edges in reference.edges.items()
        if column in current_raw.columns
    }
    far = (
        float(np.mean(current_distances > reference.far_distance))
        if len(current_distances)
        else 0.0
    )
    return DriftReport(far, psi, thresholds or DriftThresholds())
