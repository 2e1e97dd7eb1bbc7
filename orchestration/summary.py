"""Row counts of the tables a user looks at after a refresh."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Schemas whose tables are outputs (raw/staging/intermediate are plumbing).
OUTPUT_SCHEMAS = ("marts", "quarantine", "ml", "analytics")


def output_table_counts(warehouse_path: Path) -> list[tuple[str, int]]:
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by table_schema, table_name",
            [list(OUTPUT_SCHEMAS)],
        ).fetchall()
        return [
            (
                f"{schema}.{name}",
                con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0],
            )
            for schema, name in tables
        ]
    finally:
        con.close()
