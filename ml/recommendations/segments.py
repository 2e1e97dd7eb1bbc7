"""Per segment: the category mix against the population, and the categories the segment
under-buys although what its customers already buy points to them (cross-sell)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.recommendations.association import AssociationRecommender
from ml.recommendations.history import PurchaseHistory


def segment_category_mix(purchases: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """One row per segment and category its customers bought.

    `purchases`: customer_id, category, spend (customer_category_affinity); `segments`:
    customer_id, segment_id, segment_name. spend_share is the category's share of the
    segment's spend, penetration the share of the segment's buying customers who bought it;
    index = segment spend share / population spend share (below 1: under-buys)."""
    data = purchases[["customer_id", "category", "spend"]].merge(
        segments[["customer_id", "segment_id", "segment_name"]], on="customer_id"
    )
    keys = ["segment_id", "segment_name"]
    mix = (
        data.groupby([*keys, "category"])
        .agg(spend=("spend", "sum"), buyers=("customer_id", "nunique"))
        .reset_index()
    )
    segment_totals = data.groupby(keys).agg(
        segment_spend=("spend", "sum"), segment_buyers=("customer_id", "nunique")
    )
    mix = mix.merge(segment_totals.reset_index(), on=keys)
    population = data.groupby("category").agg(
        population_spend=("spend", "sum"), population_buyers=("customer_id", "nunique")
    )
    mix = mix.merge(population.reset_index(), on="category")
    total_spend = data["spend"].sum()
    total_buyers = data["customer_id"].nunique()
    mix["spend_share"] = _ratio(mix["spend"], mix["segment_spend"])
    mix["population_spend_share"] = _ratio(mix["population_spend"], total_spend)
    mix["spend_index"] = _ratio(mix["spend_share"], mix["population_spend_share"])
    mix["penetration"] = mix["buyers"] / mix["segment_buyers"]
    mix["population_penetration"] = mix["population_buyers"] / total_buyers
    mix["penetration_index"] = _ratio(mix["penetration"], mix["population_penetration"])
    columns = [
        *keys,
        "category",
        "segment_buyers",
        "buyers",
        "spend",
        "spend_share",
        "population_spend_share",
        "spend_index",
        "penetration",
        "population_penetration",
        "penetration_index",
    ]
    return mix[columns].sort_values(["segment_id", "category"], ignore_index=True)


def cross_sell_opportunities(
    mix: pd.DataFrame,
    purchases: pd.DataFrame,
    segments: pd.DataFrame,
    rules: pd.DataFrame,
    max_index: float = 0.9,
    min_lift: float = 1.0,
    min_target_customers: int = 5,
    per_segment: int = 3,
) -> pd.DataFrame:
    """Categories a segment under-indexes on (index below `max_index`) that rules with lift
    above `min_lift` tie to what at least `min_target_customers` of its customers bought.

    target_customers counts the segment's customers who have not bought the category but
    bought an antecedent of one of its rules; expected_buyers sums their association scores
    (the chance each adds it). The best rule is the antecedent -> category rule that reaches
    the most of the segment's buyers weighted by its confidence. Ranked by expected_buyers."""
    history = PurchaseHistory(purchases)
    model = AssociationRecommender(min_lift=min_lift).fit(history, rules)
    reach = _segment_reach(model, history, segments)
    columns = ["segment_id", "category"]
    candidates = mix.merge(reach, on=columns, how="left")
    candidates = candidates[
        (candidates["spend_index"] < max_index)
        & (candidates["target_customers"] >= max(1, min_target_customers))
    ]
    candidates = candidates.merge(_best_rules(mix, model.rules_), on=columns, how="left")
    candidates = candidates.sort_values(
        ["segment_id", "expected_buyers", "category"], ascending=[True, False, True]
    )
    candidates["opportunity_rank"] = candidates.groupby("segment_id").cumcount() + 1
    candidates = candidates[candidates["opportunity_rank"] <= per_segment].copy()
    candidates["target_customers"] = candidates["target_customers"].astype(int)
    candidates["reason"] = [
        f"buys {row.category} at {row.spend_index:.2f}x the population's share; "
        f"{row.target_customers} customers could add it (bought {row.best_antecedent}; "
        f"{row.best_confidence:.0%} of such buyers add {row.category})"
        for row in candidates.itertuples(index=False)
    ]
    return candidates.reset_index(drop=True)


def cross_sell_summary(opportunities: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """One row per segment with its opportunities as short text, to join to segment profiles."""
    names = (
        segments[["segment_id", "segment_name"]]
        .drop_duplicates()
        .sort_values("segment_id", ignore_index=True)
    )
    text = opportunities.groupby("segment_id").apply(
        lambda group: "; ".join(
            f"{row.category} (index {row.spend_index:.2f}, {row.target_customers} customers)"
            for row in group.sort_values("opportunity_rank").itertuples(index=False)
        ),
        include_groups=False,
    )
    names["cross_sell_categories"] = (
        names["segment_id"].map(text).fillna("none: buys in line with what its purchases suggest")
        if len(text)
        else "none: buys in line with what its purchases suggest"
    )
    return names


def _best_rules(mix: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    reach = mix[["segment_id", "category", "buyers"]].rename(columns={"category": "antecedent"})
    scored = reach.merge(rules, on="antecedent")
    scored["weight"] = scored["buyers"] * scored["confidence"]
    scored = scored.sort_values(
        ["segment_id", "consequent", "weight", "antecedent"], ascending=[True, True, False, True]
    ).drop_duplicates(["segment_id", "consequent"])
    return scored.rename(
        columns={
            "consequent": "category",
            "antecedent": "best_antecedent",
            "confidence": "best_confidence",
            "lift": "best_lift",
        }
    )[["segment_id", "category", "best_antecedent", "best_confidence", "best_lift"]]


def _segment_reach(
    model: AssociationRecommender, history: PurchaseHistory, segments: pd.DataFrame
) -> pd.DataFrame:
    """Per segment and category: customers with a positive association score for a category
    they have not bought (target_customers) and the sum of those scores (expected_buyers)."""
    segment_of = segments.set_index("customer_id")["segment_id"]
    segment_ids = pd.Index(sorted(segment_of.dropna().unique()))
    codes = segment_ids.get_indexer(segment_of.reindex(history.customers))
    shape = (len(segment_ids), len(history.categories))
    targets, expected = np.zeros(shape), np.zeros(shape)
    for block in history.blocks():
        scores, _ = model.score_block(block)
        scores = np.where(block.bought, 0.0, scores)
        code = codes[block.rows]
        known = code >= 0
        np.add.at(targets, code[known], scores[known] > 0)
        np.add.at(expected, code[known], scores[known])
    return pd.DataFrame(
        {
            "segment_id": np.repeat(segment_ids.to_numpy(), shape[1]),
            "category": np.tile(history.categories.to_numpy(), shape[0]),
            "target_customers": targets.ravel().astype(int),
            "expected_buyers": expected.ravel(),
        }
    )


def _ratio(numerator: pd.Series, denominator: pd.Series | float) -> pd.Series:
    """numerator / denominator, null where the denominator is 0."""
    if isinstance(denominator, pd.Series):
        return numerator / denominator.where(denominator != 0)
    return numerator / denominator if denominator else numerator * np.nan
