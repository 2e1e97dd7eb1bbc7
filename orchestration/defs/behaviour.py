"""Dagster metadata of the behaviour mart (marts.customer_behaviour): how many customers have
each feature, the distribution of decision styles and preferred channels, and why the columns
are empty when they are (no events: orders-only data)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from orchestration.defs.warehouse import markdown_table

BEHAVIOUR_MART = ("marts", "customer_behaviour")
FEATURES = ("decision_style", "reminder_delay_hours", "preferred_channel", "median_decision_hours")


def behaviour_metadata(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    schema, table = BEHAVIOUR_MART
    relation = f"{schema}.{table}"
    shares = con.execute(
        "select count(*), "
        + ", ".join(f"avg(case when {c} is not null then 1.0 else 0.0 end)" for c in FEATURES)
        + f" from {relation}"
    ).fetchone()
    customers = int(shares[0])
    metadata: dict[str, object] = {
        f"share_with_{column}": dg.MetadataValue.float(round(float(share or 0.0), 4))
        for column, share in zip(FEATURES, shares[1:], strict=True)
    }
    metadata["decision_styles"] = dg.MetadataValue.md(
        markdown_table(_distribution(con, relation, "decision_style", customers))
    )
    metadata["preferred_channels"] = dg.MetadataValue.md(
        markdown_table(_distribution(con, relation, "preferred_channel", customers))
    )
    for column, note in (
        ("decision_style", "decision_note"),
        ("preferred_channel", "channel_note"),
    ):
        reason = _why_empty(con, relation, column, note)
        if reason:
            metadata[f"{column}_missing_because"] = dg.MetadataValue.text(reason)
    return metadata


def _distribution(
    con: duckdb.DuckDBPyConnection, relation: str, column: str, customers: int
) -> pd.DataFrame:
    frame = con.execute(
        f"select coalesce({column}, '(none)') as {column}, count(*) as customers "
        f"from {relation} group by 1 order by 2 desc, 1"
    ).df()
    frame["share"] = (frame["customers"] / max(customers, 1)).round(4)
    return frame


def _why_empty(con: duckdb.DuckDBPyConnection, relation: str, column: str, note: str) -> str | None:
    """When no customer has the column: the most common reason the mart gives."""
    filled, reason = con.execute(f"select count({column}), mode({note}) from {relation}").fetchone()
    if filled:
        return None
    return f"no customer has a {column}: {reason or 'no customers'}"
