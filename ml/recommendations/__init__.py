"""Purchase patterns: category recommendations per customer from association rules (or an
item-item similarity model, whichever measures better over time), a popularity baseline, a
time-based hit-rate evaluation and per-segment cross-sell opportunities."""

from ml.recommendations.association import AssociationRecommender
from ml.recommendations.evaluation import RecommendationEvaluation, evaluate_recommenders
from ml.recommendations.history import PurchaseHistory
from ml.recommendations.popularity import PopularityRecommender
from ml.recommendations.ranking import recommend
from ml.recommendations.similarity import ItemSimilarityRecommender

__all__ = [
    "AssociationRecommender",
    "ItemSimilarityRecommender",
    "PopularityRecommender",
    "PurchaseHistory",
    "RecommendationEvaluation",
    "evaluate_recommenders",
    "recommend",
]
