"""Segment profiles: size, revenue share, feature means/medians and the RFM segment mix."""

from __future__ import annotations

import pandas as pd

# Mart columns summarised per segment (those present in the data are used).
PROFILE_COLUMNS = (
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "tenure_days",
    "median_days_between_orders",
    "orders_last_365d",
    "revenue_last_365d",
    "sessions_90d",
    "active_days_90d",
    "email_open_rate_90d",
    "days_since_last_activity",
    "activity_trend_30d",
)


def segment_profiles(features: pd.DataFrame, segment_ids: pd.Series) -> pd.DataFrame:
    """One row per segment id. `features` are customer_features rows aligned with `segment_ids`."""
    data = features.assign(segment_id=segment_ids.to_numpy())
    columns = [c for c in PROFILE_COLUMNS if c in data.columns]
    grouped = data.groupby("segment_id")
    total_revenue = float(data["monetary_total"].sum()) if "monetary_total" in data else 0.0
    profile = pd.DataFrame({"customers": grouped.size()})
    profile["share"] = profile["customers"] / len(data)
    profile["revenue_share"] = (
        grouped["monetary_total"].sum() / total_revenue if total_revenue > 0 else 0.0
    )
    profile["buyer_share"] = grouped["frequency"].apply(lambda f: float((f > 0).mean()))
    means = grouped[columns].mean().rename(columns=lambda c: statistic_column("mean", c))
    medians = grouped[columns].median().rename(columns=lambda c: statistic_column("median", c))
    profile = profile.join(means).join(medians)
    if "rfm_segment" in data.columns:
        profile["rfm_segment_mix"] = grouped["rfm_segment"].apply(_mix)
    return profile.reset_index()


# Buyers with an order in this many days are "active": what "recent" is measured against.
ACTIVE_WINDOW_DAYS = 365


def statistic_column(statistic: str, feature: str) -> str:
    """`mean_recency_days`; a feature that is itself a median is not named twice
    (median_days_between_orders -> median_days_between_orders, not median_median_...)."""
    return f"{statistic}_{feature.removeprefix('median_')}"


def population_profile(features: pd.DataFrame) -> dict[str, float]:
    """Population medians the segment names compare against: orders and order value over
    buyers, recency over active buyers (an order in the last year; all buyers if none is).
    Where most of the base is long gone (one old cohort, a short-lived product), the median
    over all buyers says "recent" of customers a year silent; against the customers still
    buying, recent and lapsing keep their meaning."""
    buyers = features[features["frequency"] > 0]
    active = buyers[buyers["recency_days"] < ACTIVE_WINDOW_DAYS]
    recency_base = active if len(active) else buyers
    out = {
        "median_recency_days": float(recency_base["recency_days"].median())
        if len(recency_base)
        else 0.0,
        "median_frequency": float(buyers["frequency"].median()) if len(buyers) else 0.0,
        "median_avg_order_value": float(buyers["avg_order_value"].median()) if len(buyers) else 0.0,
        "median_monetary_total": float(features["monetary_total"].median()),
        "median_tenure_days": float(features["tenure_days"].median()),
    }
    if "sessions_90d" in features.columns:
        out["median_sessions_90d"] = float(features["sessions_90d"].median())
    return out


def _mix(segments: pd.Series, top: int = 3) -> str:
    shares = segments.value_counts(normalize=True).head(top)
    return ", ".join(f"{name} {share:.0%}" for name, share in shares.items())
