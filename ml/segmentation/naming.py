"""Names a marketer understands, generated from each segment's profile against the population.

Each segment gets an archetype (the key of the editable action table, dbt seed
`segment_actions`), a short name and a one-line description. Rules, first match wins, on the
segment's medians compared with the population's:

- browsers    under half have ordered, sessions well above the population's:
              "Engaged browsers, few orders"
- prospects   under half have ordered: "Sign-ups without orders"
- new         median tenure <= 90 days: "New one-time buyers" (one order) / "New customers"
- lost        median recency >= 365 days: "Lost customers" / "Lost big spenders"
- lapsing     median recency >= max(60, 2 x population): "Lapsing big spenders" /
              "Lapsing customers"
- champions   frequency >= 1.5x, order value >= 1.25x, recency <= population:
              "High-value loyal"
- loyal       frequency >= 1.25x and recency <= population: "Loyal regulars"
- occasional  order value <= 0.8x or frequency <= 0.75x: "Occasional bargain buyers" /
              "Occasional buyers"
- core        otherwise: "Core customers"

"Big spenders" means an order value >= 1.25x the population's. Duplicate names get a qualifier
(higher/lower spend) so every segment's name is unique.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

ARCHETYPES = (
    "browsers",
    "prospects",
    "new",
    "lost",
    "lapsing",
    "champions",
    "loyal",
    "occasional",
    "core",
)


@dataclass(frozen=True)
class SegmentName:
    archetype: str
    name: str


def _ratio(value: float, reference: float) -> float:
    if reference and reference > 0:
        return value / reference
    return float("inf") if value > 0 else 1.0


def name_segment(row: pd.Series, population: dict[str, float]) -> SegmentName:
    recency = row.get("median_recency_days")
    recency = float(recency) if pd.notna(recency) else float("inf")
    frequency = _ratio(row["median_frequency"], population["median_frequency"])
    value = _ratio(
        row["median_avg_order_value"] if pd.notna(row["median_avg_order_value"]) else 0.0,
        population["median_avg_order_value"],
    )
    big = value >= 1.25
    sessions = row.get("median_sessions_90d")
    population_sessions = population.get("median_sessions_90d")

    if row["buyer_share"] < 0.5:
        if (
            sessions is not None
            and pd.notna(sessions)
            and sessions >= max(1.0, 1.5 * (population_sessions or 0))
        ):
            return SegmentName("browsers", "Engaged browsers, few orders")
        return SegmentName("prospects", "Sign-ups without orders")
    if row["median_tenure_days"] <= 90:
        name = "New one-time buyers" if row["median_frequency"] <= 1 else "New customers"
        return SegmentName("new", name)
    if recency >= 365:
        return SegmentName("lost", "Lost big spenders" if big else "Lost customers")
    if recency >= max(60.0, 2 * population["median_recency_days"]):
        return SegmentName("lapsing", "Lapsing big spenders" if big else "Lapsing customers")
    recent = recency <= population["median_recency_days"]
    if frequency >= 1.5 and value >= 1.25 and recent:
        return SegmentName("champions", "High-value loyal")
    if frequency >= 1.25 and recent:
        return SegmentName("loyal", "Loyal regulars")
    if value <= 0.8 or frequency <= 0.75:
        return SegmentName(
            "occasional", "Occasional bargain buyers" if value <= 0.8 else "Occasional buyers"
        )
    return SegmentName("core", "Core customers")


def name_segments(profiles: pd.DataFrame, population: dict[str, float]) -> pd.DataFrame:
    """segment_id, archetype, segment_name (unique), from `segment_profiles` rows."""
    named = profiles[["segment_id"]].copy()
    names = [name_segment(row, population) for _, row in profiles.iterrows()]
    named["archetype"] = [n.archetype for n in names]
    named["segment_name"] = [n.name for n in names]
    spend = profiles["median_monetary_total"].to_numpy()
    for name, group in named.groupby("segment_name"):
        if len(group) < 2:
            continue
        order = sorted(group.index, key=lambda i: -spend[named.index.get_loc(i)])
        for rank, index in enumerate(order):
            qualifier = (
                "higher spend"
                if rank == 0
                else "lower spend"
                if rank == len(order) - 1
                else f"tier {rank + 1}"
            )
            named.loc[index, "segment_name"] = f"{name} ({qualifier})"
    return named


def describe_segment(row: pd.Series, population: dict[str, float]) -> str:
    """One sentence with the segment's numbers next to the population's."""
    parts = [
        f"{int(row['customers']):,} customers ({row['share']:.0%} of customers, "
        f"{row['revenue_share']:.0%} of revenue)."
    ]
    if row["buyer_share"] < 0.5:
        parts.append(f"Only {row['buyer_share']:.0%} have ordered.")
    else:
        parts.append(
            f"Last order a median {row['median_recency_days']:.0f} days ago "
            f"(all buyers: {population['median_recency_days']:.0f}); "
            f"{row['median_frequency']:.0f} orders (all: {population['median_frequency']:.0f}) "
            f"at {_money(row['median_avg_order_value'])} each "
            f"(all: {_money(population['median_avg_order_value'])})."
        )
    if "median_sessions_90d" in row and "median_sessions_90d" in population:
        parts.append(
            f"{row['median_sessions_90d']:.0f} sessions in 90 days "
            f"(all: {population['median_sessions_90d']:.0f})."
        )
    return " ".join(parts)


def _money(value: float) -> str:
    return f"{value:,.0f}" if pd.notna(value) else "-"
