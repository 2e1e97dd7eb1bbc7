"""Tables the ML assets write keep the types the BI contract declares."""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.defs.warehouse import replace_rows, write_table


def _types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns where table_name = ?",
            [table],
        ).fetchall()
    )


def test_a_text_column_with_only_nulls_is_written_as_varchar() -> None:
    # No customer with a third churn driver: pandas holds the column as all-None objects.
    scores = pd.DataFrame({"customer_id": ["c1", "c2"], "driver_3": [None, None]})
    con = duckdb.connect()
    write_table(con, "ml.scores", scores)
    replace_rows(con, "ml.history", scores.assign(as_of_date="2024-01-01"), "as_of_date", "x")
    assert _types(con, "scores")["driver_3"] == "VARCHAR"
    assert _types(con, "history")["driver_3"] == "VARCHAR"
    # A later run with text in the column appends to the history it created.
    later = scores.assign(driver_3=["no order for 90 days", None], as_of_date="2024-01-02")
    replace_rows(con, "ml.history", later, "as_of_date", "2024-01-02")
    assert con.execute("select count(driver_3) from ml.history").fetchall() == [(1,)]
