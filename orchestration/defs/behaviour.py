"""Asset metadata of the behaviour features (replenishment cadence, seasonality): how many
customers have each feature, their share of all customers, and why a feature is empty (no order
lines, or too short a history for seasonality) instead of a silent null."""

from __future__ import annotations

import dagster as dg
import duckdb

NOTES = "intermediate.int_behaviour_notes"
CUSTOMERS = "marts.customer_features"

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


def behaviour_metadata(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict:
    """Customers with each feature (count and share of marts.customer_features) and the notes
    saying why a feature is empty; {} for other tables or when the inputs are missing."""
    spec = BEHAVIOUR_TABLES.get((schema, table))
    if spec is None:
        return {}
    notes, features = spec
    try:
        customers = con.execute(f"select count(*) from {CUSTOMERS}").fetchone()[0]
        row = con.execute(f"select {', '.join(notes)} from {NOTES}").fetchone()
        counts = {name: con.execute(sql).fetchone()[0] for name, sql in features.items()}
    except duckdb.CatalogException:  # a partial build without the behaviour models
        return {}
    metadata: dict[str, object] = {}
    for name, count in counts.items():
        metadata[name] = dg.MetadataValue.int(int(count))
        share = round(count / customers, 4) if customers else 0.0
        metadata[f"share_of_{name.removeprefix('customers_')}"] = dg.MetadataValue.float(share)
    for note, value in zip(notes, row or (None,) * len(notes), strict=True):
        metadata[note] = dg.MetadataValue.text(value or "computed from the order lines")
    return metadata
