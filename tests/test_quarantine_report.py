"""The quarantine message, the date floor and share settings, without running the pipeline."""

from pathlib import Path

import duckdb
import pytest

from ingest.mapping import MappingError, dbt_vars, parse_mapping
from ingest.quarantine_report import (
    over_limit,
    quarantine_failure_message,
    upstream_cause,
)
from orchestration.settings import SettingsError, from_env


def _warehouse(
    rows_read: int, quarantined: list[tuple[str, int, str]]
) -> duckdb.DuckDBPyConnection:
    """raw.orders_load and quarantine.quarantine_orders as a build leaves them."""
    con = duckdb.connect()
    con.execute("create schema raw; create schema quarantine")
    con.execute(
        "create table raw.orders_load as select ? as rows_read, 0 as rows_suppressed", [rows_read]
    )
    con.execute(
        "create table quarantine.quarantine_orders (entity varchar, source_file varchar, "
        "source_row bigint, raw_values varchar, reason_code varchar, reason varchar)"
    )
    for file, line, reason in quarantined:
        con.execute(
            "insert into quarantine.quarantine_orders values ('orders', ?, ?, ?, ?, 'why')",
            [file, line, '{"customer_id": "SECRET-42", "amount": "9,99"}', reason],
        )
    return con


def test_message_names_file_top_reasons_lines_and_the_key_to_fix() -> None:
    bad = [("/landing/orders.csv", line, "date_too_old") for line in range(5, 15)]
    bad += [("/landing/orders.csv", line, "unparseable_amount") for line in range(2, 5)]
    bad += [("/landing/orders.csv", 20, "malformed_row"), ("/landing/orders.csv", 21, "x")]
    con = _warehouse(rows_read=20, quarantined=bad)
    entities = over_limit(con, 0.2)
    assert [q.entity for q in entities] == ["orders"]
    message = quarantine_failure_message(entities, 0.2)
    assert "orders: 15 of 20 rows (75%) were quarantined" in message
    assert "File: orders.csv" in message
    assert "date_too_old: 10 rows (e.g. orders.csv line 5)" in message
    assert "`orders.min_date` in mapping.yaml or INSIGHTS_MIN_VALID_DATE" in message
    assert "unparseable_amount: 3 rows (e.g. orders.csv line 2)" in message
    assert "`orders.decimal_separator`" in message
    assert "malformed_row: 1 rows (e.g. orders.csv line 20)" in message
    assert "`orders.delimiter`" in message
    assert " x:" not in message  # only the top three reasons
    assert "quarantine.quarantine_orders" in message
    # Customer data never reaches the message: no row values, no directories.
    assert "SECRET" not in message and "9,99" not in message and "/landing" not in message


def test_share_at_or_below_the_limit_passes_and_upstream_cause_summarises() -> None:
    con = _warehouse(rows_read=10, quarantined=[("orders.csv", 2, "unparseable_date")] * 2)
    assert over_limit(con, 0.2) == []
    assert over_limit(con, 0.1)[0].rows_quarantined == 2
    assert upstream_cause(con) == (
        "Upstream: 20% of orders rows (2 of 10) were quarantined, mostly unparseable_date "
        "(see quarantine.quarantine_orders)."
    )
    assert upstream_cause(_warehouse(10, [])) == ""


def test_min_date_in_mapping_reaches_dbt_and_bad_values_name_the_key() -> None:
    mapping = parse_mapping({"orders": {"min_date": "1990-01-01"}}, Path("mapping.yaml"))
    assert dbt_vars(mapping)["min_valid_dates"] == {"orders": "1990-01-01"}
    with pytest.raises(MappingError, match=r"orders\.min_date: '01/01/1990'"):
        parse_mapping({"orders": {"min_date": "01/01/1990"}}, Path("mapping.yaml"))


def test_date_floor_and_share_settings() -> None:
    defaults = from_env({})
    assert (defaults.min_valid_date, defaults.max_quarantine_share) == ("1950-01-01", 0.2)
    custom = from_env(
        {"INSIGHTS_MIN_VALID_DATE": "1900-06-01", "INSIGHTS_MAX_QUARANTINE_SHARE": "1"}
    )
    assert (custom.min_valid_date, custom.max_quarantine_share) == ("1900-06-01", 1.0)
    with pytest.raises(SettingsError, match="INSIGHTS_MAX_QUARANTINE_SHARE=20"):
        from_env({"INSIGHTS_MAX_QUARANTINE_SHARE": "20"})
    with pytest.raises(SettingsError, match="INSIGHTS_MIN_VALID_DATE"):
        from_env({"INSIGHTS_MIN_VALID_DATE": "1950"})


def test_demo_data_start_date_moves_the_history_to_another_era(tmp_path: Path) -> None:
    from orchestration.cli import main

    landing = tmp_path / "landing"
    args = ["demo-data", "--customers", "50", "--start-date", "1996-01-01"]
    assert main([*args, "--landing-dir", str(landing)]) == 0
    first, last = duckdb.execute(
        f"select min(ordered_at), max(ordered_at) from read_csv('{landing / 'orders.csv'}')"
    ).fetchone()
    assert first.year == 1996 and last.year == 1998
