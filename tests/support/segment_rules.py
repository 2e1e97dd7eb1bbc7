"""The segment rules a marketer relies on, checked on a refreshed warehouse."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ml.segmentation.naming import inconsistencies
from ml.segmentation.profiles import population_profile

REPEAT_BUYER_ARCHETYPES = {"core", "loyal", "champions", "occasional"}


def assert_segments_actionable(query: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """No segment above 50% of customers (unless the selection found one dominant group), every
    name and action consistent with the segment's medians, descriptions counted in words.
    Returns the profiles joined with the serving summary."""
    profiles = query("select * from ml.segment_profiles")
    reason = query("select selection_reason from ml.segment_models")["selection_reason"].iloc[-1]
    if "one dominant group" not in reason:
        assert profiles["share"].max() <= 0.5, (reason, profiles[["segment_name", "share"]])
    population = population_profile(query("select * from marts.customer_features"))
    for _, row in profiles.iterrows():
        assert not inconsistencies(row, population, row["archetype"]), (
            row["segment_name"],
            inconsistencies(row, population, row["archetype"]),
        )
        assert not row["description"].startswith("1 customers")
        for word in ("orders", "days", "sessions"):
            assert f" 1 {word}" not in row["description"], row["description"]
    summary = query("select * from analytics.segment_summary").merge(
        profiles[["segment_id", "median_frequency"]], on="segment_id", suffixes=("", "_profile")
    )
    one_order_at_risk = summary[
        (summary["median_frequency_profile"] < 2) & (summary["high_risk_share"] > 0.8)
    ]
    assert not set(one_order_at_risk["archetype"]) & REPEAT_BUYER_ARCHETYPES
    assert not one_order_at_risk["recommended_action"].str.contains("frequency").any()
    actions = query("select archetype, recommended_action from reference.segment_actions")
    expected = summary["archetype"].map(actions.set_index("archetype")["recommended_action"])
    assert (summary["recommended_action"] == expected).all()
    return summary
