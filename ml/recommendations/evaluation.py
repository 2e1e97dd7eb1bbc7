"""Time-based evaluation: rank categories from the history before a cutoff and count how often
the top k hold a category the customer then bought for the first time in the window after it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.recommendations.history import PurchaseHistory
from ml.recommendations.popularity import PopularityRecommender
from ml.recommendations.ranking import Recommender, recommend

HIT_RATE_KS = (3, 10)


def hit_rate(
    recommendations: pd.DataFrame, new_categories: pd.DataFrame, customers: pd.Index, k: int
) -> float:
    """Share of `customers` with at least one of their top-k categories among the categories
    they bought for the first time afterwards (`new_categories`: customer_id, category)."""
    if len(customers) == 0:
        return float("nan")
    top = recommendations.loc[recommendations["rank"] <= k, ["customer_id", "category"]]
    hits = top.merge(new_categories[["customer_id", "category"]].drop_duplicates())
    return float(hits["customer_id"].drop_duplicates().isin(customers).sum() / len(customers))


@dataclass
class RecommendationEvaluation:
    """Hit rates of every method on the same customers, and the method chosen for production."""

    metrics: pd.DataFrame  # method, role, description, hit_at_<k>, margin_hit_at_<k>, selected
    selected: str
    note: str
    customers: int

    @classmethod
    def from_history(cls, rows: pd.DataFrame) -> RecommendationEvaluation:
        """The evaluation as stored for one as-of date (ml.recommendation_evaluation rows:
        the metrics plus selected, note and customers_evaluated)."""
        metrics = rows.drop(
            columns=["as_of_date", "evaluation_cutoff", "window_end", "note", "inputs_fingerprint"],
            errors="ignore",
        ).rename(columns={"customers_evaluated": "customers"})
        customers = int(metrics["customers"].iloc[0])
        selected = metrics.loc[metrics["selected"].astype(bool), "method"].item()
        return cls(metrics.reset_index(drop=True), selected, str(rows["note"].iloc[0]), customers)

    def hit(self, method: str, k: int) -> float:
        return float(self.metrics.set_index("method").loc[method, f"hit_at_{k}"])

    @property
    def beats_popularity(self) -> bool:
        return self.customers > 0 and self.margin(HIT_RATE_KS[0]) > 0

    def margin(self, k: int) -> float:
        """Best model's hit rate minus popularity's (0 when nothing could be measured)."""
        models = self.metrics[self.metrics["role"] == "model"]
        best = models.sort_values("rank").iloc[0]["method"]
        value = self.hit(best, k) - self.hit("popularity", k)
        return 0.0 if np.isnan(value) else float(value)


def evaluate_recommenders(
    history: PurchaseHistory,
    rules: pd.DataFrame,
    new_categories: pd.DataFrame,
    candidates: list[Recommender],
    ks: tuple[int, ...] = HIT_RATE_KS,
) -> RecommendationEvaluation:
    """Fit every candidate and the popularity baseline on `history` (the purchases before the
    cutoff) and `rules` (mined before it), then score them on the customers who had bought
    something before the cutoff and bought at least one new category after it. The candidate
    with the best hit rate at the smallest k (then the next k, then list order) is selected
    if it beats popularity there; otherwise popularity is, and the note says why."""
    popularity = history.buyer_share()
    customers = pd.Index(new_categories["customer_id"].unique()).intersection(history.customers)
    rows = []
    roles = [("model", c) for c in candidates] + [("baseline", PopularityRecommender())]
    for role, recommender in roles:
        fitted = recommender.fit(history, rules)
        ranked = recommend(fitted, history, popularity, k=max(ks))
        row = {"method": fitted.name, "role": role, "description": fitted.description}
        for k in ks:
            row[f"hit_at_{k}"] = hit_rate(ranked, new_categories, customers, k)
        rows.append(row)
    metrics = pd.DataFrame(rows)
    for k in ks:
        metrics[f"margin_hit_at_{k}"] = (
            metrics[f"hit_at_{k}"]
            - metrics.loc[metrics["method"] == "popularity", f"hit_at_{k}"].item()
        )
    order = [f"hit_at_{k}" for k in ks]
    models = metrics[metrics["role"] == "model"].sort_values(order, ascending=False, kind="stable")
    metrics["rank"] = metrics["method"].map({m: i + 1 for i, m in enumerate(models["method"])})
    metrics["customers"] = len(customers)
    best = models.iloc[0]
    k = ks[0]
    if len(customers) == 0:
        selected = best["method"]
        note = (
            "nothing to evaluate: no customer with order lines before the evaluation cutoff "
            f"bought a new category after it; using {selected}"
        )
    elif best[f"margin_hit_at_{k}"] > 0:
        selected = best["method"]
        note = (
            f"{selected} selected: hit@{k} {best[f'hit_at_{k}']:.3f} vs popularity "
            f"{best[f'hit_at_{k}'] - best[f'margin_hit_at_{k}']:.3f} "
            f"(margin {best[f'margin_hit_at_{k}']:+.3f}) on {len(customers)} customers"
        )
    else:
        selected = "popularity"
        note = (
            f"no model beats popularity: best {best['method']} hit@{k} "
            f"{best[f'hit_at_{k}']:.3f} vs popularity "
            f"{best[f'hit_at_{k}'] - best[f'margin_hit_at_{k}']:.3f}; recommending by popularity"
        )
    metrics["selected"] = metrics["method"] == selected
    return RecommendationEvaluation(metrics, selected, note, len(customers))
