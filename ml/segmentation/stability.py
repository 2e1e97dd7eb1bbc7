"""How stable is the chosen segmentation? Bootstrap the fit and compare labelings (ARI)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score


def bootstrap_stability(
    x: np.ndarray,
    reference_labels: np.ndarray,
    k: int,
    rounds: int = 10,
    n_init: int = 4,
    random_state: int = 42,
) -> list[float]:
    """ARI between the reference labels and k-means refitted on bootstrap resamples.

    Each round fits on a resample (with replacement) and labels every row of `x`; an ARI near 1
    means the segments do not depend on which customers happened to be in the data. Rounds
    whose resample has fewer than k distinct rows are skipped (tiny data sets only).
    """
    rng = np.random.default_rng(random_state)
    scores = []
    for round_index in range(rounds):
        rows = rng.integers(0, len(x), size=len(x))
        if len(np.unique(x[rows], axis=0)) < k:
            continue  # a tiny data set resampled below k distinct customers: nothing to learn
        model = KMeans(n_clusters=k, n_init=n_init, random_state=random_state + round_index + 1)
        model.fit(x[rows])
        scores.append(float(adjusted_rand_score(reference_labels, model.predict(x))))
    return scores
