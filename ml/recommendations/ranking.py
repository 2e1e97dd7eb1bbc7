"""The recommender interface and the ranking every recommender shares: each customer's
not-yet-bought categories by score, ties broken by popularity, then by name."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.recommendations.history import HistoryBlock, PurchaseHistory

NO_ANTECEDENT = -1


class Recommender:
    """Fit on a purchase history (and association rules), then score categories per customer.

    `score_block` returns two customers x categories arrays: the score (higher = more likely to
    be bought next; 0 = no evidence) and the position of the bought category that contributed
    most to it (NO_ANTECEDENT when none did). Already-bought categories are masked later."""

    name = "recommender"
    description = ""

    def fit(self, history: PurchaseHistory, rules: pd.DataFrame) -> Recommender:
        raise NotImplementedError

    def score_block(self, block: HistoryBlock) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


def recommend(
    recommender: Recommender,
    history: PurchaseHistory,
    popularity: np.ndarray,
    k: int = 3,
) -> pd.DataFrame:
    """The top `k` categories per customer that the customer has not bought yet.

    Columns: customer_id, rank (1..k), category, score, basis (the recommender's name, or
    'popularity' where it had no evidence and the category's popularity decided; those rank
    after every category with evidence and score their popularity) and antecedent (the bought
    category behind the score; null for popularity). A customer who has bought every category
    gets no rows, and so does a customer without purchases (not in the history)."""
    if not np.array_equal(recommender.categories_, history.categories):
        raise ValueError("score a history over the categories the recommender was fitted on")
    categories = history.categories.to_numpy()
    # Candidates in popularity order (then by name): a stable sort by score keeps that order
    # among equal scores, so ties never depend on row order.
    by_popularity = np.lexsort((np.arange(len(categories)), -np.asarray(popularity)))
    frames = []
    for block in history.blocks():
        scores, antecedents = recommender.score_block(block)
        masked = np.where(block.bought, -np.inf, scores)[:, by_popularity]
        order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
        top_scores = np.take_along_axis(masked, order, axis=1)
        columns = by_popularity[order]
        customer_rows, ranks = np.nonzero(np.isfinite(top_scores))
        column = columns[customer_rows, ranks]
        score = top_scores[customer_rows, ranks]
        antecedent = antecedents[customer_rows, column]
        evidence = score > 0 if recommender.name != "popularity" else np.zeros(score.size, bool)
        # Without evidence the category's popularity ranked it: that is its score too.
        score = np.where(evidence, score, np.asarray(popularity)[column])
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": history.customers.to_numpy()[block.rows][customer_rows],
                    "rank": ranks + 1,
                    "category": categories[column],
                    "score": score,
                    "basis": np.where(evidence, recommender.name, "popularity"),
                    "antecedent": np.where(
                        evidence & (antecedent != NO_ANTECEDENT),
                        categories[np.maximum(antecedent, 0)],
                        None,
                    ),
                }
            )
        )
    if not frames:
        return empty_recommendations()
    return pd.concat(frames, ignore_index=True)


def empty_recommendations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="object"),
            "rank": pd.Series(dtype="int64"),
            "category": pd.Series(dtype="object"),
            "score": pd.Series(dtype="float64"),
            "basis": pd.Series(dtype="object"),
            "antecedent": pd.Series(dtype="object"),
        }
    )
