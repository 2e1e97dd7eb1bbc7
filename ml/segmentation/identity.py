"""Stable segment ids across refits: match new segments to the previous model's by membership.

Both models assign today's customers; the Hungarian algorithm pairs new and old segments to
maximise the total Jaccard overlap of their members. A matched new segment inherits the old id;
a new segment without a real counterpart (overlap below `min_jaccard`) gets a fresh id. Matching
on members rather than centroids works even when the feature set changed between models.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def match_segment_ids(
    new_clusters: np.ndarray,
    previous_ids: np.ndarray,
    n_new_clusters: int,
    min_jaccard: float = 0.2,
) -> np.ndarray:
    """Segment id for each new cluster index (0..n_new_clusters-1).

    new_clusters: the new model's cluster index per customer; previous_ids: the previous
    model's segment id for the same customers.
    """
    if len(new_clusters) != len(previous_ids):
        raise ValueError("both labelings must cover the same customers")
    old_ids = np.unique(previous_ids)
    old_index = np.searchsorted(old_ids, previous_ids)
    overlap = np.zeros((n_new_clusters, len(old_ids)))
    np.add.at(overlap, (new_clusters, old_index), 1)
    new_sizes = overlap.sum(axis=1, keepdims=True)
    old_sizes = overlap.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.nan_to_num(overlap / (new_sizes + old_sizes - overlap))
    rows, cols = linear_sum_assignment(-jaccard)
    ids = np.zeros(n_new_clusters, dtype=int)
    next_id = int(old_ids.max()) + 1 if len(old_ids) else 1
    matched = {
        r: old_ids[c] for r, c in zip(rows, cols, strict=True) if jaccard[r, c] >= min_jaccard
    }
    # Unmatched clusters get fresh ids, the larger ones first.
    for cluster in np.argsort(-new_sizes.ravel(), kind="stable"):
        if cluster in matched:
            ids[cluster] = matched[cluster]
        else:
            ids[cluster] = next_id
            next_id += 1
    return ids
