"""Why a category is recommended, in words a marketer can put in front of a customer."""

from __future__ import annotations

import pandas as pd


def explain(
    recommendations: pd.DataFrame, rules: pd.DataFrame, buyer_share: pd.Series
) -> pd.DataFrame:
    """Adds confidence and lift of the rule antecedent -> category (when there is one) and the
    reason: the rule ("bought Running shoes; 55% of such buyers add Socks"), the similarity
    ("bought Camera; buyers of Camera often buy Toys too") or the popularity ("popular: 33% of
    customers have bought Books"). `buyer_share` is indexed by category."""
    rule_columns = rules[["antecedent", "consequent", "confidence", "lift"]].rename(
        columns={"consequent": "category"}
    )
    explained = recommendations.merge(rule_columns, on=["antecedent", "category"], how="left")
    # Worded once per distinct reason (a few thousand) rather than per row (millions on a
    # large base); merge matches missing keys with each other, so every row finds its reason.
    keys = ["basis", "antecedent", "category", "confidence", "buyer_share"]
    with_share = explained.assign(buyer_share=explained["category"].map(buyer_share))
    distinct = with_share[keys].drop_duplicates()
    distinct["reason"] = [
        reason(row.basis, row.antecedent, row.category, row.confidence, row.buyer_share)
        for row in distinct.itertuples(index=False)
    ]
    worded = with_share.merge(distinct, on=keys, how="left", validate="many_to_one")
    explained["reason"] = worded["reason"].to_numpy()
    return explained


def reason(
    basis: str,
    antecedent: str | None,
    category: str,
    confidence: float | None,
    buyer_share: float | None,
) -> str:
    if basis != "popularity" and antecedent is not None and pd.notna(antecedent):
        if confidence is not None and pd.notna(confidence):
            return f"bought {antecedent}; {confidence:.0%} of such buyers add {category}"
        return f"bought {antecedent}; buyers of {antecedent} often buy {category} too"
    share = 0.0 if buyer_share is None or pd.isna(buyer_share) else buyer_share
    return f"popular: {share:.0%} of customers have bought {category}"
