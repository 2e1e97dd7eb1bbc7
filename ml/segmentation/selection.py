"""Choosing the number of segments k.

For every k in the range, k-means is fitted and scored: inertia (for the elbow), silhouette
(on a fixed-size sample so it stays fast at 1M customers), Calinski-Harabasz and
Davies-Bouldin (on the same sample), and the smallest segment's share.

The rule (documented in the README, every input recorded in `segment_model_selection`):
1. Eligible k: the smallest segment holds at least `min_segment_share` of customers, and the
   largest at most `max_segment_share` (50%): a segment holding most customers is not one a
   marketer can act on differently from "everyone" (with weak structure k = 2 typically splits
   off a minority and leaves the one-time buyers, recent and long gone alike, in one block).
   Only when no k in the range keeps every segment at or below that share does the data have
   one dominant group; then the share limit is dropped and the reason says so.
2. If no eligible k reaches a silhouette of `min_structure_silhouette` (0.25: below it there is
   no substantial cluster structure), take the smallest eligible k.
3. Otherwise the best silhouette wins; any eligible k within `silhouette_tolerance` of it counts
   as a tie (a difference that small does not change how separated the segments are).
4. Ties go to the previous model's k when a refit has one among them (segments stay the same
   from one day to the next while the data does not clearly favour another k), else to the
   highest Calinski-Harabasz score: the variance-ratio form of the elbow, the k where the last
   added segment still bought the most compactness.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score


@dataclass(frozen=True)
class SelectionConfig:
    k_min: int = 2
    k_max: int = 12
    min_segment_share: float = 0.02
    max_segment_share: float = 0.5
    silhouette_tolerance: float = 0.02
    min_structure_silhouette: float = 0.25
    metric_sample_size: int = 10_000
    n_init: int = 4
    random_state: int = 42


@dataclass
class KSelection:
    chosen_k: int
    reason: str
    metrics: pd.DataFrame  # one row per k
    elbow_k: int | None = None
    models: dict[int, KMeans] = field(default_factory=dict, repr=False)


def evaluate_k_range(
    x: np.ndarray,
    config: SelectionConfig,
    incumbent_k: int | None = None,
    incumbent_init: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[int, KMeans]]:
    """Fit k-means for each k and score it; rows: k, inertia, silhouette, CH, DB, min share.
    At incumbent_k, k-means starts from incumbent_init (the previous model's centroids)."""
    n = len(x)
    # k-means cannot find more clusters than there are distinct customers (minus one, so the
    # silhouette stays defined).
    distinct = len(np.unique(x, axis=0))
    k_max = min(config.k_max, distinct - 1)
    if k_max < config.k_min:
        raise ValueError(
            f"{n} customers ({distinct} distinct feature rows) are too few to try "
            f"k >= {config.k_min}"
        )
    rng = np.random.default_rng(config.random_state)
    sample = rng.choice(n, size=min(n, config.metric_sample_size), replace=False)
    sample.sort()
    rows, models = [], {}
    for k in range(config.k_min, k_max + 1):
        if k == incumbent_k and incumbent_init is not None:
            model = KMeans(n_clusters=k, init=incumbent_init, n_init=1)
        else:
            model = KMeans(n_clusters=k, n_init=config.n_init, random_state=config.random_state)
        labels = model.fit_predict(x)
        sample_labels = labels[sample]
        scorable = len(np.unique(sample_labels)) > 1
        rows.append(
            {
                "k": k,
                "inertia": float(model.inertia_),
                "silhouette": float(
                    silhouette_score(x[sample], sample_labels, random_state=config.random_state)
                )
                if scorable
                else float("nan"),
                "calinski_harabasz": float(calinski_harabasz_score(x[sample], sample_labels))
                if scorable
                else float("nan"),
                "davies_bouldin": float(davies_bouldin_score(x[sample], sample_labels))
                if scorable
                else float("nan"),
                "min_segment_share": float(np.bincount(labels, minlength=k).min() / n),
                "max_segment_share": float(np.bincount(labels, minlength=k).max() / n),
            }
        )
        models[k] = model
    return pd.DataFrame(rows), models


def elbow_k(metrics: pd.DataFrame) -> int | None:
    """Kneedle elbow of the inertia curve: the k farthest below the chord from first to last."""
    if len(metrics) < 3:
        return None
    k = metrics["k"].to_numpy(dtype=float)
    inertia = metrics["inertia"].to_numpy(dtype=float)
    span = inertia.max() - inertia.min()
    if span <= 0:
        return None
    xs = (k - k.min()) / (k.max() - k.min())
    ys = (inertia - inertia.min()) / span
    chord = 1.0 - xs  # from (0, 1) to (1, 0)
    return int(k[np.argmax(chord - ys)])


def choose_k(
    metrics: pd.DataFrame, config: SelectionConfig, incumbent_k: int | None = None
) -> tuple[int, str]:
    """Apply the documented rule to the per-k metrics; returns (k, reason in words).
    incumbent_k: the previous model's k (a refit), kept when it ties with the best."""
    large_enough = metrics[metrics["min_segment_share"] >= config.min_segment_share]
    if large_enough.empty:
        k = int(metrics["k"].min())
        return k, (
            f"no k gives every segment at least {config.min_segment_share:.0%} of customers; "
            f"falling back to the smallest k = {k}"
        )
    balanced = large_enough[large_enough["max_segment_share"] <= config.max_segment_share]
    if balanced.empty:
        k, reason = _by_structure(large_enough, config, incumbent_k)
        largest = float(large_enough.loc[large_enough["k"] == k, "max_segment_share"].iloc[0])
        return k, (
            f"{reason}; every k from {int(metrics['k'].min())} to {int(metrics['k'].max())} "
            f"leaves one segment above {config.max_segment_share:.0%} of customers, so the data "
            f"has one dominant group (largest segment {largest:.0%})"
        )
    k, reason = _by_structure(balanced, config, incumbent_k)
    unbalanced = large_enough[large_enough["max_segment_share"] > config.max_segment_share]
    if not unbalanced.empty:
        skipped = ", ".join(str(int(v)) for v in unbalanced["k"])
        reason += (
            f"; not eligible with one segment above {config.max_segment_share:.0%} of "
            f"customers: k = {skipped}"
        )
    return k, reason


def _by_structure(
    eligible: pd.DataFrame, config: SelectionConfig, incumbent_k: int | None = None
) -> tuple[int, str]:
    """Steps 2-4 of the rule on the eligible k."""
    best = eligible["silhouette"].max()
    if not np.isfinite(best) or best < config.min_structure_silhouette:
        k = int(eligible["k"].min())
        return k, (
            f"no k reaches a silhouette of {config.min_structure_silhouette} (best "
            f"{best:.3f}): the data has no substantial cluster structure, so the smallest "
            f"eligible k = {k} is used"
        )
    ties = eligible[eligible["silhouette"] >= best - config.silhouette_tolerance]
    if incumbent_k is not None and incumbent_k in set(ties["k"].astype(int)):
        chosen = ties[ties["k"] == incumbent_k].iloc[0]
        tie_break = f"k = {incumbent_k} is the previous model's k"
    else:
        chosen = ties.sort_values(["calinski_harabasz", "k"], ascending=[False, True]).iloc[0]
        tie_break = (
            f"k = {int(chosen['k'])} has the highest Calinski-Harabasz score "
            f"({chosen['calinski_harabasz']:.0f})"
        )
    k = int(chosen["k"])
    best_k = int(eligible.loc[eligible["silhouette"].idxmax(), "k"])
    tied = ", ".join(str(int(v)) for v in ties["k"])
    reason = (
        f"k = {k}: silhouette {chosen['silhouette']:.3f} (best {best:.3f} at k = {best_k}); "
        f"k within {config.silhouette_tolerance} of the best silhouette ({tied}) tie, and "
        f"{tie_break}; smallest segment "
        f"{chosen['min_segment_share']:.1%} >= {config.min_segment_share:.0%}, largest "
        f"{chosen['max_segment_share']:.1%}"
    )
    return k, reason


def select_k(
    x: np.ndarray,
    config: SelectionConfig,
    pinned_k: int | None = None,
    incumbent_k: int | None = None,
    incumbent_init: np.ndarray | None = None,
) -> KSelection:
    metrics, models = evaluate_k_range(x, config, incumbent_k, incumbent_init)
    if pinned_k is not None:
        if pinned_k not in models:
            raise ValueError(
                f"pinned k = {pinned_k} is outside the tried range {config.k_min}..{config.k_max}"
            )
        k, reason = pinned_k, f"k = {pinned_k} pinned in config"
    else:
        k, reason = choose_k(metrics, config, incumbent_k)
    metrics["chosen"] = metrics["k"] == k
    return KSelection(k, reason, metrics, elbow_k(metrics), models)
