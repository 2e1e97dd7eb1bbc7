"""Names a marketer understands, generated from each segment's profile against the population.

Each segment gets an archetype (the key of the editable action table, dbt seed
`segment_actions`), a short name and a one-line description. The rule table RULES is read top
to bottom, first match wins, on the segment's medians ("orders" = median completed orders;
"recency" = median days since the last order; "gap" = median days between orders) compared
with the population's (buyers for orders and order value; recency against active buyers, an
order in the last year, see profiles.population_profile):

- browsers    under half have ordered, sessions >= max(1, 1.5x population):
              "Engaged browsers, few orders"
- prospects   under half have ordered: "Sign-ups without orders"
- new         tenure <= 90 days: "New one-time buyers" (orders < 2) / "New customers"
- lost        recency >= 365 days: "Lost big spenders" / "Lost one-time buyers" /
              "Lost customers"
- lapsing     repeat buyers (orders >= 2): recency >= max(60, 2x their own gap); one-time
              buyers: recency >= max(60, 2x the population's): "Lapsing big spenders" /
              "Lapsing one-time buyers" / "Lapsing customers"
- one_time    orders < 2: "One-time big spenders" / "One-time buyers"
- champions   orders >= 3 and >= 1.5x, order value >= 1.25x, recency <= population:
              "High-value loyal"
- loyal       orders >= 3 and >= 1.25x, recency <= population: "Loyal regulars"
- occasional  order value <= 0.8x or orders <= 0.75x: "Occasional bargain buyers" /
              "Occasional buyers"
- core        otherwise: "Core customers"

Only absolute facts about the segment and ratios to the population are used, never values of
a particular data set, so the names hold on data they were not designed on. Whatever k-means
finds, the names (and so the recommended actions) cannot contradict the medians:
`inconsistencies` checks every named segment against REQUIREMENTS, the conditions each
archetype's medians must meet (e.g. one-order segments can never be "Core", "Loyal" or
"High-value"; a segment gone a year is "Lost" whatever else it is). "Big spenders" means an
order value >= 1.25x the population's. Duplicate names get a qualifier (higher/lower spend) so
every segment's name is unique.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

ARCHETYPES = (
    "browsers",
    "prospects",
    "new",
    "lost",
    "lapsing",
    "one_time",
    "champions",
    "loyal",
    "occasional",
    "core",
)

NEW_TENURE_DAYS = 90
LOST_RECENCY_DAYS = 365
LAPSING_MIN_DAYS = 60
REPEAT_ORDERS = 2  # a segment whose median customer has fewer orders is one-time buyers
# "Loyal" needs a rhythm: at least two gaps between orders (as for the overdue flag), whatever
# the population's median; two orders above a base of one-time buyers is not yet loyalty.
REGULAR_ORDERS = 3
BIG_SPENDER = 1.25


@dataclass(frozen=True)
class SegmentName:
    archetype: str
    name: str


@dataclass(frozen=True)
class Facts:
    """A segment's medians and their ratios to the population, as the rules read them."""

    buyer_share: float
    orders: float  # median completed orders
    recency: float  # median days since the last order (inf without buyers)
    tenure: float
    gap: float  # median of the customers' median days between orders (NaN: no repeat buyers)
    sessions: float | None
    orders_ratio: float
    value_ratio: float
    population_recency: float
    population_sessions: float | None

    @property
    def big(self) -> bool:
        return self.value_ratio >= BIG_SPENDER

    @property
    def one_time(self) -> bool:
        return self.orders < REPEAT_ORDERS

    @property
    def regular(self) -> bool:
        return self.orders >= REGULAR_ORDERS

    @property
    def lapsing(self) -> bool:
        """Repeat buyers are judged by their own rhythm (two usual gaps without an order: a
        segment ordering every 4 months is not lapsing after 10 weeks, however recent the rest
        of the base is); one-time buyers, who have none, against the active buyers."""
        if not self.one_time and pd.notna(self.gap):
            return bool(self.recency >= max(LAPSING_MIN_DAYS, 2 * self.gap))
        return bool(self.recency >= max(LAPSING_MIN_DAYS, 2 * self.population_recency))

    @property
    def recent(self) -> bool:
        return self.recency <= self.population_recency


def _ratio(value: float, reference: float) -> float:
    if reference and reference > 0:
        return value / reference
    return float("inf") if value > 0 else 1.0


def _float(value: object, default: float = float("nan")) -> float:
    return float(value) if value is not None and pd.notna(value) else default


def segment_facts(row: pd.Series, population: dict[str, float]) -> Facts:
    sessions = row.get("median_sessions_90d")
    return Facts(
        buyer_share=float(row["buyer_share"]),
        orders=_float(row["median_frequency"], 0.0),
        recency=_float(row.get("median_recency_days"), float("inf")),
        tenure=_float(row["median_tenure_days"], 0.0),
        gap=_float(row.get("median_median_days_between_orders")),
        sessions=_float(sessions) if sessions is not None and pd.notna(sessions) else None,
        orders_ratio=_ratio(_float(row["median_frequency"], 0.0), population["median_frequency"]),
        value_ratio=_ratio(
            _float(row["median_avg_order_value"], 0.0), population["median_avg_order_value"]
        ),
        population_recency=population["median_recency_days"],
        population_sessions=population.get("median_sessions_90d"),
    )


@dataclass(frozen=True)
class Rule:
    archetype: str
    matches: Callable[[Facts], bool]
    name: Callable[[Facts], str]


def _browsing(f: Facts) -> bool:
    return f.sessions is not None and f.sessions >= max(1.0, 1.5 * (f.population_sessions or 0))


def _gone_name(prefix: str, f: Facts) -> str:
    if f.big:
        return f"{prefix} big spenders"
    return f"{prefix} one-time buyers" if f.one_time else f"{prefix} customers"


RULES: tuple[Rule, ...] = (
    Rule(
        "browsers",
        lambda f: f.buyer_share < 0.5 and _browsing(f),
        lambda f: "Engaged browsers, few orders",
    ),
    Rule("prospects", lambda f: f.buyer_share < 0.5, lambda f: "Sign-ups without orders"),
    Rule(
        "new",
        lambda f: f.tenure <= NEW_TENURE_DAYS,
        lambda f: "New one-time buyers" if f.one_time else "New customers",
    ),
    Rule(
        "lost",
        lambda f: f.recency >= LOST_RECENCY_DAYS,
        lambda f: _gone_name("Lost", f),
    ),
    Rule("lapsing", lambda f: f.lapsing, lambda f: _gone_name("Lapsing", f)),
    Rule(
        "one_time",
        lambda f: f.one_time,
        lambda f: "One-time big spenders" if f.big else "One-time buyers",
    ),
    Rule(
        "champions",
        lambda f: f.regular and f.orders_ratio >= 1.5 and f.value_ratio >= BIG_SPENDER and f.recent,
        lambda f: "High-value loyal",
    ),
    Rule(
        "loyal",
        lambda f: f.regular and f.orders_ratio >= 1.25 and f.recent,
        lambda f: "Loyal regulars",
    ),
    Rule(
        "occasional",
        lambda f: f.value_ratio <= 0.8 or f.orders_ratio <= 0.75,
        lambda f: "Occasional bargain buyers" if f.value_ratio <= 0.8 else "Occasional buyers",
    ),
    Rule("core", lambda f: True, lambda f: "Core customers"),
)

# What every archetype's medians must satisfy, whichever rule produced it: the invariants the
# tests check on every data shape (and a reviewer can read as "this name means at least ...").
_BUYERS = ("buyers: at least half have ordered", lambda f: f.buyer_share >= 0.5)
_REPEAT = ("repeat buyers: median orders >= 2", lambda f: not f.one_time)
_NOT_GONE = (
    f"not gone: median recency < {LOST_RECENCY_DAYS} days",
    lambda f: f.recency < LOST_RECENCY_DAYS,
)
_NOT_LAPSING = (
    "not lapsing: recency below 2x their own gap (one-time buyers: 2x the population's)",
    lambda f: not f.lapsing,
)
_ESTABLISHED = (f"tenure > {NEW_TENURE_DAYS} days", lambda f: f.tenure > NEW_TENURE_DAYS)
_REGULAR = (f"regulars: median orders >= {REGULAR_ORDERS}", lambda f: f.regular)
REQUIREMENTS: dict[str, tuple[tuple[str, Callable[[Facts], bool]], ...]] = {
    "browsers": (("under half have ordered", lambda f: f.buyer_share < 0.5),),
    "prospects": (("under half have ordered", lambda f: f.buyer_share < 0.5),),
    "new": (_BUYERS, (f"tenure <= {NEW_TENURE_DAYS} days", lambda f: f.tenure <= NEW_TENURE_DAYS)),
    "lost": (_BUYERS, _ESTABLISHED, ("median recency >= 365 days", lambda f: not f.recency < 365)),
    "lapsing": (
        _BUYERS,
        _ESTABLISHED,
        _NOT_GONE,
        (f"median recency >= {LAPSING_MIN_DAYS} days", lambda f: f.recency >= LAPSING_MIN_DAYS),
    ),
    "one_time": (
        _BUYERS,
        _ESTABLISHED,
        _NOT_GONE,
        _NOT_LAPSING,
        ("median orders < 2", lambda f: f.one_time),
    ),
    "champions": (
        _BUYERS,
        _ESTABLISHED,
        _REPEAT,
        _NOT_GONE,
        _NOT_LAPSING,
        _REGULAR,
        ("recent: recency <= the population's", lambda f: f.recent),
        ("orders >= 1.5x the population's", lambda f: f.orders_ratio >= 1.5),
    ),
    "loyal": (
        _BUYERS,
        _ESTABLISHED,
        _REPEAT,
        _NOT_GONE,
        _NOT_LAPSING,
        _REGULAR,
        ("recent: recency <= the population's", lambda f: f.recent),
        ("orders >= 1.25x the population's", lambda f: f.orders_ratio >= 1.25),
    ),
    "occasional": (_BUYERS, _ESTABLISHED, _REPEAT, _NOT_GONE, _NOT_LAPSING),
    "core": (_BUYERS, _ESTABLISHED, _REPEAT, _NOT_GONE, _NOT_LAPSING),
}


def name_segment(row: pd.Series, population: dict[str, float]) -> SegmentName:
    facts = segment_facts(row, population)
    rule = next(r for r in RULES if r.matches(facts))
    return SegmentName(rule.archetype, rule.name(facts))


def inconsistencies(row: pd.Series, population: dict[str, float], archetype: str) -> list[str]:
    """The requirements of `archetype` this segment's medians break (empty: consistent)."""
    if archetype not in REQUIREMENTS:
        return [f"unknown archetype {archetype!r}"]
    facts = segment_facts(row, population)
    return [text for text, holds in REQUIREMENTS[archetype] if not holds(facts)]


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


def count(value: float, singular: str, plural: str | None = None) -> str:
    """'1 order', '3 orders', '1.5 orders' (a median can fall between two counts)."""
    number = float(value)
    text = f"{number:,.0f}" if number == round(number) else f"{number:,.1f}"
    return f"{text} {singular if number == 1 else plural or singular + 's'}"


def describe_segment(row: pd.Series, population: dict[str, float]) -> str:
    """One sentence with the segment's numbers next to the population's."""
    parts = [
        f"{count(row['customers'], 'customer')} ({row['share']:.0%} of customers, "
        f"{row['revenue_share']:.0%} of revenue)."
    ]
    if row["buyer_share"] < 0.5:
        parts.append(f"Only {row['buyer_share']:.0%} have ordered.")
    else:
        parts.append(
            f"Last order a median {count(round(row['median_recency_days']), 'day')} ago "
            f"(active buyers: {population['median_recency_days']:.0f}); "
            f"{count(row['median_frequency'], 'order')} "
            f"(all: {population['median_frequency']:g}) "
            f"at {_money(row['median_avg_order_value'])} each "
            f"(all: {_money(population['median_avg_order_value'])})."
        )
    if "median_sessions_90d" in row and "median_sessions_90d" in population:
        parts.append(
            f"{count(row['median_sessions_90d'], 'session')} in 90 days "
            f"(all: {population['median_sessions_90d']:g})."
        )
    return " ".join(parts)


def _money(value: float) -> str:
    return f"{value:,.0f}" if pd.notna(value) else "-"
