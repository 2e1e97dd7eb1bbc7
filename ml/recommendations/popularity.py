"""The baseline every recommender must beat: the categories most customers have bought."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.recommendations.history import HistoryBlock, PurchaseHistory
from ml.recommendations.ranking import NO_ANTECEDENT, Recommender


class PopularityRecommender(Recommender):
    name = "popularity"
    description = "the most bought categories (share of customers) the customer has not bought"

    def fit(self, history: PurchaseHistory, rules: pd.DataFrame | None = None):
        self.categories_ = history.categories
        self.buyer_share_ = history.buyer_share()
        return self

    def score_block(self, block: HistoryBlock) -> tuple[np.ndarray, np.ndarray]:
        shape = block.bought.shape
        return (
            np.broadcast_to(self.buyer_share_, shape).copy(),
            np.full(shape, NO_ANTECEDENT),
        )
