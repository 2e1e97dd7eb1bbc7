"""Asset metadata of the behaviour features (README "Behaviour"): how many customers have each
feature and their share, the distribution of decision styles and preferred channels, and why a
feature is empty (no order lines, too short a history for seasonality, no events) instead of a
silent null. Plain SQL through the engine seam, so it reads the tables on DuckDB or Spark."""

from __future__ import annotations

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from engines.base import Engine
from orchestration.defs.warehouse import markdown_table

NOTES = "intermediate.int_behaviour_notes"
CUSTOMERS = "marts.customer_features"
BEHAVIOUR_MART = ("marts", "customer_behaviour")
FEATURES = ("decision_style", "reminder_delay_hours", "preferred_channel", "median_decision_hours")

# (schema, table) -> the notes that apply, and feature name -> SQL counting its customers.
BEHAVIOUR_TABLES: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, str]]] = {
    ("marts", "customer_category_cadence"): (
        ("cadence_note",),
        {
            "customers_with_cadence": "select count(distinct customer_id) "
            "from marts.customer_category_cadence",
            "customers_with_category_due_7d": "select count(distinct customer_id) "
            "from marts.customer_category_cadence where due_in_days between 0 and 6",
        },
    ),
    ("marts", "customer_category_seasonality"): (
        ("seasonality_note",),
        {
            "customers_with_seasonal_category": "select count(distinct customer_id) "
            "from marts.customer_category_seasonality where is_seasonal",
            "customers_with_season_starting_30d": "select count(distinct customer_id) "
            "from marts.customer_category_seasonality "
            "where is_seasonal and days_to_season_start < 30",
        },
    ),
    ("analytics", "customer_360"): (
        ("cadence_note", "seasonality_note"),
        {
            "customers_with_next_due_category": "select count(next_due_category) "
            "from analytics.customer_360",
            "customers_with_next_seasonal_category": "select count(next_seasonal_category) "
            "from analytics.customer_360",
        },
    ),
}


def behaviour_metadata(engine: Engine, schema: str, table: str) -> dict:
    """The behaviour metadata of one table; {} for other tables or when the inputs are missing."""
    if (schema, table) == BEHAVIOUR_MART:
        return decision_and_channel_metadata(engine)
    return category_habit_metadata(engine, schema, table)


def category_habit_metadata(engine: Engine, schema: str, table: str) -> dict:
    """Customers with each category habit (count and share of marts.customer_features) and the
    notes saying why a feature is empty."""
    spec = BEHAVIOUR_TABLES.get((schema, table))
    if spec is None:
        return {}
    # A partial build without the behaviour models has no metadata to give.
    if not all(engine.table_exists(t) for t in (CUSTOMERS, NOTES, f"{schema}.{table}")):
        return {}
    notes, features = spec
    customers = _first_row(engine, f"select count(*) from {CUSTOMERS}")[0]
    row = _first_row(engine, f"select {', '.join(notes)} from {NOTES}")
    counts = {name: _first_row(engine, sql)[0] for name, sql in features.items()}
    metadata: dict[str, object] = {}
    for name, count in counts.items():
        metadata[name] = dg.MetadataValue.int(int(count))
        share = round(count / customers, 4) if customers else 0.0
        metadata[f"share_of_{name.removeprefix('customers_')}"] = dg.MetadataValue.float(share)
    for note, value in zip(notes, row or (None,) * len(notes), strict=True):
        metadata[note] = dg.MetadataValue.text(value or "computed from the order lines")
    return metadata


def decision_and_channel_metadata(engine: Engine) -> dict[str, object]:
    """Share of customers with each decision/channel feature, their distributions, and why a
    column is empty when no customer has it."""
    schema, table = BEHAVIOUR_MART
    relation = f"{schema}.{table}"
    shares = _first_row(
        engine,
        "select count(*), "
        + ", ".join(f"avg(case when {c} is not null then 1.0 else 0.0 end)" for c in FEATURES)
        + f" from {relation}",
    )
    customers = int(shares[0])
    metadata: dict[str, object] = {
        f"share_with_{column}": dg.MetadataValue.float(round(float(share or 0.0), 4))
        for column, share in zip(FEATURES, shares[1:], strict=True)
    }
    metadata["decision_styles"] = dg.MetadataValue.md(
        markdown_table(_distribution(engine, relation, "decision_style", customers))
    )
    metadata["preferred_channels"] = dg.MetadataValue.md(
        markdown_table(_distribution(engine, relation, "preferred_channel", customers))
    )
    for column, note in (
        ("decision_style", "decision_note"),
        ("preferred_channel", "channel_note"),
    ):
        reason = _why_empty(engine, relation, column, note)
        if reason:
            metadata[f"{column}_missing_because"] = dg.MetadataValue.text(reason)
    return metadata


def _distribution(engine: Engine, relation: str, column: str, customers: int) -> pd.DataFrame:
    frame = engine.sql(
        f"select coalesce({column}, '(none)') as {column}, count(*) as customers "
        f"from {relation} group by 1 order by 2 desc, 1"
    )
    frame["share"] = (frame["customers"] / max(customers, 1)).round(4)
    return frame


def _why_empty(engine: Engine, relation: str, column: str, note: str) -> str | None:
    """When no customer has the column: the most common reason the mart gives."""
    filled, reason = _first_row(engine, f"select count({column}), mode({note}) from {relation}")
    if filled:
        return None
    return f"no customer has a {column}: {reason or 'no customers'}"


def _first_row(engine: Engine, query: str) -> tuple[Any, ...]:
    """The query's first row as Python values, SQL nulls as None (pandas gives NaN or NA)."""
    frame = engine.sql(query)
    if frame.empty:
        return (None,) * len(frame.columns)
    return tuple(
        None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v for v in frame.iloc[0]
    )
