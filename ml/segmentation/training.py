"""Fit a segmentation model end to end: choose k, fit, measure stability, keep ids, name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.segmentation.identity import match_segment_ids
from ml.segmentation.model import SegmentationConfig, SegmentationModel, sample_rows
from ml.segmentation.naming import name_segments
from ml.segmentation.profiles import population_profile, segment_profiles
from ml.segmentation.stability import bootstrap_stability


@dataclass
class TrainingResult:
    model: SegmentationModel
    stability_ari: list[float]
    identity_note: str

    @property
    def mean_stability_ari(self) -> float:
        return float(np.mean(self.stability_ari)) if self.stability_ari else float("nan")


def train_segmentation(
    features: pd.DataFrame,
    config: SegmentationConfig | None = None,
    previous: SegmentationModel | None = None,
    bootstrap_rounds: int = 10,
) -> TrainingResult:
    """Fit on `features` (customer_features rows). With a previous model, segment ids and names
    carry over to the new segments that match the old ones."""
    # A refit continues the previous segments where the data allows (model.py, selection.py):
    # two k a hair apart in silhouette would otherwise flip from one day to the next.
    model = SegmentationModel(config).fit(features, previous=previous)
    config = model.config
    x = model.features_.transform(features)
    rows = sample_rows(
        len(x), config.selection_sample_size, np.random.default_rng(config.random_state)
    )
    stability = bootstrap_stability(
        x[rows],
        model.kmeans_.predict(x[rows]),
        model.n_segments,
        rounds=bootstrap_rounds,
        # As many restarts as the final fit: stability should measure the data, not k-means
        # landing in a poor local optimum on one resample.
        n_init=config.final_n_init,
        random_state=config.random_state,
    )
    previous_names = None
    note = "first model: ids numbered by size (1 = largest)"
    if previous is not None:
        previous_ids = previous.assign(features)["segment_id"].to_numpy()
        model.segment_ids_ = match_segment_ids(
            model.kmeans_.predict(x), previous_ids, model.n_segments
        )
        kept = len(set(model.segment_ids_) & set(previous.segment_ids_))
        note = (
            f"matched to the previous model by membership: {kept} of {model.n_segments} "
            f"segments kept their id"
        )
        previous_names = previous.segment_names_.set_index("segment_id")
    model.segment_names_ = _names(model, features, previous_names)
    return TrainingResult(model, stability, note)


def _names(
    model: SegmentationModel, features: pd.DataFrame, previous: pd.DataFrame | None
) -> pd.DataFrame:
    assigned = model.assign(features)["segment_id"]
    named = name_segments(segment_profiles(features, assigned), population_profile(features))
    if previous is not None:
        # A segment that kept its id and its archetype keeps its name too.
        for index, row in named.iterrows():
            old = previous.loc[row["segment_id"]] if row["segment_id"] in previous.index else None
            if old is not None and old["archetype"] == row["archetype"]:
                named.loc[index, "segment_name"] = old["segment_name"]
    return named.reset_index(drop=True)
