"""Recommendations through association rules: 'customers who bought A also bought B'."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.recommendations.history import HistoryBlock, PurchaseHistory
from ml.recommendations.ranking import NO_ANTECEDENT, Recommender

# A confidence of exactly 1 would make the noisy-or certain and hide every other rule.
MAX_CONTRIBUTION = 1 - 1e-9


class AssociationRecommender(Recommender):
    """Scores B for a customer as the noisy-or of the rules A -> B over the categories A the
    customer bought: 1 - prod(1 - weight_A * confidence(A -> B)), where weight_A is the
    customer's affinity for A relative to their favourite category (1). Several independent
    reasons to buy B add up; a strong recent habit counts more than an old one-off.

    Rules need a lift above `min_lift`: a rule whose B is no more likely after A than overall
    is popularity in disguise."""

    name = "association"
    description = "noisy-or of rule confidences over the bought categories, affinity-weighted"

    def __init__(self, min_lift: float = 1.0) -> None:
        self.min_lift = min_lift

    def fit(self, history: PurchaseHistory, rules: pd.DataFrame):
        self.categories_ = history.categories
        known = rules["antecedent"].isin(self.categories_) & rules["consequent"].isin(
            self.categories_
        )
        used = rules[known & (rules["lift"] > self.min_lift)]
        self.rules_ = used[["antecedent", "consequent", "confidence", "lift"]].sort_values(
            ["antecedent", "consequent"], ignore_index=True
        )
        confidence = np.zeros((len(self.categories_), len(self.categories_)))
        confidence[
            self.categories_.get_indexer(self.rules_["antecedent"]),
            self.categories_.get_indexer(self.rules_["consequent"]),
        ] = self.rules_["confidence"].to_numpy(dtype=float)
        self.confidence_ = confidence
        return self

    def score_block(self, block: HistoryBlock) -> tuple[np.ndarray, np.ndarray]:
        shape = block.weights.shape
        log_miss = np.zeros(shape)
        strongest = np.zeros(shape)
        antecedent = np.full(shape, NO_ANTECEDENT)
        for a in np.flatnonzero(self.confidence_.any(axis=1)):
            contribution = np.minimum(block.weights[:, [a]] * self.confidence_[a], MAX_CONTRIBUTION)
            log_miss += np.log1p(-contribution)
            stronger = contribution > strongest
            strongest = np.where(stronger, contribution, strongest)
            antecedent = np.where(stronger, a, antecedent)
        return 0.0 - np.expm1(log_miss), antecedent  # 0.0 - : no negative zeros
