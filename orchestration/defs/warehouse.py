"""Small read helpers over the warehouse that several assets share."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb


def ensure_parent(database: str) -> None:
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    descriptions: dict[str, str] | None = None,
) -> dict[str, object]:
    """Row count and column schema (with types) of a warehouse table, as Dagster metadata."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        return {}
    descriptions = descriptions or {}
    row_count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    return {
        "dagster/row_count": dg.MetadataValue.int(row_count),
        "dagster/table_name": dg.MetadataValue.text(f"{schema}.{table}"),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(
                columns=[
                    dg.TableColumn(name=name, type=dtype, description=descriptions.get(name))
                    for name, dtype in columns
                ]
            )
        ),
    }
