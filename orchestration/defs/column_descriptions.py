"""Column descriptions of the tables the Python assets write (raw loads and the ml schema), in
one place: `table_metadata` puts them into each materialisation's column schema, so the Dagster
UI describes every column. (dbt models take theirs from the .yml files; the recommendation
tables from recommendation_tables.py.)"""

from __future__ import annotations

AS_OF = "The as-of date: features use data strictly before it."
CUSTOMER_ID = "The customer's id as in the landing files."
MODEL_VERSION = "Version of the model that produced the row (see the model registry table)."

# Every raw table: the landing columns mapped onto the contract, plus where each row came from.
RAW_LINEAGE = {
    "_source_file": "Landing file the row was read from.",
    "_source_row": "Line of the row in that file (the header is line 1).",
    "_batch": "Load batch number; incremental dbt models read only new batches.",
}

RAW = {
    "orders": {
        "order_id": "Order id (derived from customer, time and amount when the file has none).",
        "customer_id": CUSTOMER_ID,
        "ordered_at": "Order time as in the file (typed and converted to UTC in staging).",
        "amount": "Order amount as in the file (parsed in staging).",
        "status": "Order status as in the file (normalised to completed/cancelled/refunded).",
    },
    "customers": {
        "customer_id": CUSTOMER_ID,
        "signup_at": "Sign-up time as in the file.",
        "country": "Country as in the file.",
        "acquisition_channel": "Acquisition channel as in the file.",
        "email": "E-mail address (PII: never leaves the warehouse unhashed).",
        "marketing_opt_in": "Marketing consent as in the file.",
    },
    "order_items": {
        "order_id": "Order the line belongs to.",
        "product_id": "Product id.",
        "category": "Product category.",
        "quantity": "Units as in the file.",
        "unit_price": "Price per unit as in the file.",
    },
    "events": {
        "customer_id": CUSTOMER_ID,
        "occurred_at": "Event time as in the file.",
        "event_type": "Event type (session_start, page_view, ..., or any other value).",
        "properties": "Free-form event properties (may contain anything; never read).",
    },
}

ML = {
    "customer_segments": {
        "customer_id": CUSTOMER_ID,
        "as_of_date": AS_OF,
        "segment_id": "Behavioural segment (stable across refits: matched by membership).",
        "segment_name": "The segment's generated name.",
        "distance_to_centroid": "Distance to the segment centre in standardised feature space.",
        "margin_to_second": "0 = on the boundary to the next segment, 1 = at the centre.",
        "pca_x": "First principal component of the features (for the segment map).",
        "pca_y": "Second principal component of the features.",
        "model_version": MODEL_VERSION,
    },
    "segment_profiles": {
        "as_of_date": AS_OF,
        "segment_id": "Behavioural segment.",
        "segment_name": "Generated name from the segment's medians against all customers.",
        "archetype": "Archetype behind the name; keys the actions in reference.segment_actions.",
        "description": "The segment in words, against the population.",
        "recommended_action": "What to do with the segment (reference.segment_actions).",
        "channel": "Channel suggested for the action.",
        "customers": "Customers in the segment.",
        "share": "Share of all customers.",
        "revenue_share": "Share of all revenue before the as-of date.",
        "buyer_share": "Share of the segment with at least one completed order.",
        "rfm_segment_mix": "Most common RFM segments in the segment, with shares.",
        "model_version": MODEL_VERSION,
    },
    "churn_scores": {
        "customer_id": CUSTOMER_ID,
        "as_of_date": AS_OF,
        "churn_probability": "Calibrated probability of no completed order in the horizon "
        "(active buyers only).",
        "risk_tier": "high / medium / low (active buyers), lost (no order for a year), no_orders.",
        "driver_1": "Strongest reason for the risk, in words (medium and high tiers).",
        "driver_2": "Second reason.",
        "driver_3": "Third reason.",
        "predicted_orders": "Expected completed orders in the churn horizon.",
        "predicted_revenue": "Expected revenue in the churn horizon.",
        "value_12m": "Expected revenue over the next 12 months.",
        "expected_next_order_date": "When the next order is expected, never before the as-of "
        "date: last order + the median gap, or the next date on the customer's own cycle once "
        "that has passed; null without a rhythm (see next_order_note).",
        "next_order_note": "Why the expected date is what it is: on schedule, past due (next "
        "cycle if still active), one order only, lost, no orders yet.",
        "overdue_since": "The date the next order was due, when it has passed.",
        "days_overdue": "Days from overdue_since to the as-of date.",
        "overdue": "Past due by a clear margin (3+ orders; beyond the median gap + max(2 "
        "standard deviations, half the gap)).",
        "model_version": MODEL_VERSION,
    },
    "segment_migrations": {
        "from_as_of_date": "Earlier as-of date.",
        "to_as_of_date": "Later as-of date.",
        "from_segment_id": "Segment at the earlier date.",
        "from_segment_name": "Its name.",
        "to_segment_id": "Segment at the later date.",
        "to_segment_name": "Its name.",
        "customers": "Customers who moved (or stayed, when from = to).",
    },
}

# segment_profiles has mean_<feature> and median_<feature> for each marts.customer_features
# column it summarises (ml/segmentation/profiles.py).
STATISTICS = {"mean": "Mean", "median": "Median"}


def column_descriptions(schema: str, table: str, columns: list[str]) -> dict[str, str]:
    """Descriptions of `columns` of schema.table, for the Dagster column schema."""
    if schema == "raw":
        known = {**RAW.get(table, {}), **RAW_LINEAGE}
    else:
        known = ML.get(table, {}) if schema == "ml" else {}
    described = {c: known[c] for c in columns if c in known}
    if (schema, table) == ("ml", "segment_profiles"):
        for column in columns:
            statistic, _, feature = column.partition("_")
            if column not in described and statistic in STATISTICS:
                described[column] = (
                    f"{STATISTICS[statistic]} over the segment's customers of "
                    f"{_feature_name(feature)} (marts.customer_features)."
                )
    return described


def _feature_name(feature: str) -> str:
    if feature == "days_between_orders":  # the mart column is a per-customer median
        return "median_days_between_orders"
    return feature
