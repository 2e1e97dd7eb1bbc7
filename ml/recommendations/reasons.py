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
    explained["reason"] = [
        reason(
            row.basis, row.antecedent, row.category, row.confidence, buyer_share.get(row.category)
        )
        for row in explained.itertuples(index=False)
    ]
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
