"""The segmentation model: features -> k-means segments, distances and a 2-D view."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from ml.segmentation.drift import DriftReport, DriftThresholds, FeatureReference, measure_drift
from ml.segmentation.features import SegmentationFeatures
from ml.segmentation.selection import KSelection, SelectionConfig, select_k


@dataclass(frozen=True)
class SegmentationConfig:
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    # k pinned by the user (None: chosen by the selection rule).
    pinned_k: int | None = None
    # Model selection runs on a sample; the final model is fitted on a (larger) sample and then
    # assigns everyone. Both keep 1M-customer runs within seconds.
    selection_sample_size: int = 50_000
    fit_sample_size: int = 200_000
    final_n_init: int = 8
    random_state: int = 42


class SegmentationModel:
    """fit(customer_features) chooses k and fits; assign(customer_features) labels anyone.

    Learned state: features_ (transformer), kmeans_, pca_, segment_ids_ (cluster index ->
    segment id), selection_ (per-k metrics and the reason for k), reference_ (for drift),
    segment_names_ (segment_id, archetype, segment_name; set by training.py).
    """

    def __init__(self, config: SegmentationConfig | None = None) -> None:
        self.config = config or SegmentationConfig()

    def fit(
        self, features: pd.DataFrame, previous: SegmentationModel | None = None
    ) -> SegmentationModel:
        """previous: the model in use (a refit). Its k is kept while it ties with the best
        (selection.py), and k-means at that k starts from its centroids, so a refit on one more
        day of data continues the same segments instead of a fresh random local optimum."""
        if len(features) < 3:
            raise ValueError(f"segmentation needs at least 3 customers, got {len(features)}")
        config = self.config
        self.features_ = SegmentationFeatures().fit(features)
        x = self.features_.transform(features)
        incumbent_k, incumbent_init = None, None
        if previous is not None and previous.feature_names == self.feature_names:
            incumbent_k = previous.n_segments
            # The previous centroids in this fit's scaled units.
            incumbent_init = self.features_.scaler_.transform(previous.centroids_raw())
        rng = np.random.default_rng(config.random_state)
        selection_rows = sample_rows(len(x), config.selection_sample_size, rng)
        self.selection_: KSelection = select_k(
            x[selection_rows],
            config.selection,
            pinned_k=config.pinned_k,
            incumbent_k=incumbent_k,
            incumbent_init=incumbent_init,
        )
        fit_rows = sample_rows(len(x), config.fit_sample_size, rng)
        chosen_k = self.selection_.chosen_k
        if chosen_k == incumbent_k:
            kmeans = KMeans(n_clusters=chosen_k, init=incumbent_init, n_init=1)
        else:
            kmeans = KMeans(
                n_clusters=chosen_k, n_init=config.final_n_init, random_state=config.random_state
            )
        self.kmeans_ = kmeans.fit(x[fit_rows])
        self.pca_ = PCA(n_components=2, random_state=config.random_state).fit(x[fit_rows])
        labels = self.kmeans_.predict(x)
        # Default ids: 1 = the largest segment. A refit replaces these by matching (identity.py).
        sizes = np.bincount(labels, minlength=self.n_segments)
        order = np.argsort(-sizes, kind="stable")
        self.segment_ids_ = np.empty(self.n_segments, dtype=int)
        self.segment_ids_[order] = np.arange(1, self.n_segments + 1)
        distances = self.kmeans_.transform(x).min(axis=1)
        self.reference_ = FeatureReference.from_training(
            self.features_.transform_raw(features), distances
        )
        self.n_training_customers_ = len(features)
        return self

    @property
    def n_segments(self) -> int:
        return int(self.kmeans_.n_clusters)

    @property
    def feature_names(self) -> list[str]:
        return list(self.features_.feature_names_)

    def assign(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per customer: segment_id, distance to its centroid, margin to the second nearest
        (0 = on the boundary, 1 = at the centroid) and PCA coordinates; index as the input."""
        x = self.features_.transform(features)
        distances = self.kmeans_.transform(x)
        nearest = np.argmin(distances, axis=1)
        ordered = np.sort(distances, axis=1)
        first = ordered[:, 0]
        second = ordered[:, 1] if ordered.shape[1] > 1 else np.full(len(x), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = np.where(second > 0, (second - first) / second, 0.0)
        projected = self.pca_.transform(x)
        return pd.DataFrame(
            {
                "segment_id": self.segment_ids_[nearest],
                "distance_to_centroid": first,
                "margin_to_second": margin,
                "pca_x": projected[:, 0],
                "pca_y": projected[:, 1],
            },
            index=features.index,
        )

    def drift(
        self, features: pd.DataFrame, thresholds: DriftThresholds | None = None
    ) -> DriftReport:
        """How far today's customers are from the training data (see drift.py)."""
        distances = self.kmeans_.transform(self.features_.transform(features)).min(axis=1)
        return measure_drift(
            self.reference_, self.features_.transform_raw(features), distances, thresholds
        )

    def centroids_raw(self) -> pd.DataFrame:
        """Centroids in de-skewed feature units (before scaling), indexed by segment id."""
        raw = self.features_.scaler_.inverse_transform(self.kmeans_.cluster_centers_)
        return pd.DataFrame(raw, columns=self.feature_names, index=self.segment_ids_).sort_index()

    def fingerprint(self) -> str:
        """A short hash of the fitted state: same inputs and settings give the same value."""
        digest = hashlib.sha256()
        digest.update(np.round(self.kmeans_.cluster_centers_, 10).tobytes())
        digest.update(",".join(self.feature_names).encode())
        digest.update(self.segment_ids_.tobytes())
        return digest.hexdigest()[:10]


def sample_rows(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))
