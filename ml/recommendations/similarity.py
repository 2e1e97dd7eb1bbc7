"""The item-item alternative: categories bought by the same customers are similar."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics.pairwise import cosine_similarity

from ml.recommendations.history import HistoryBlock, PurchaseHistory
from ml.recommendations.ranking import NO_ANTECEDENT, Recommender


class ItemSimilarityRecommender(Recommender):
    """Cosine similarity between categories over the customer x category purchase matrix
    (who bought what); a customer's score for B is the sum over the categories A they bought
    of weight_A * similarity(A, B), weight_A as in the association recommender."""

    name = "item_similarity"
    description = "affinity-weighted sum of category cosine similarities (scikit-learn)"

    def fit(self, history: PurchaseHistory, rules: pd.DataFrame | None = None):
        self.categories_ = history.categories
        similarity = (
            cosine_similarity(history.bought.T)
            if len(history)
            else np.zeros((len(self.categories_), len(self.categories_)))
        )
        np.fill_diagonal(similarity, 0.0)
        self.similarity_ = similarity
        return self

    def score_block(self, block: HistoryBlock) -> tuple[np.ndarray, np.ndarray]:
        shape = block.weights.shape
        strongest = np.zeros(shape)
        antecedent = np.full(shape, NO_ANTECEDENT)
        for a in np.flatnonzero(block.weights.any(axis=0)):
            contribution = block.weights[:, [a]] * self.similarity_[a]
            stronger = contribution > strongest
            strongest = np.where(stronger, contribution, strongest)
            antecedent = np.where(stronger, a, antecedent)
        return block.weights @ self.similarity_, antecedent
