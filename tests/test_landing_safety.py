"""Landing inputs are confined to the landing folder, a required file may not be empty, and
error messages quote column names and line numbers, never a customer's values."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from ingest.landing import LandingError, load_entity
from ingest.mapping import load_mapping, parse_mapping

ORDERS = "order_id,customer_id,ordered_at,amount\no1,C1,2024-01-01,3\no2,C2,2024-01-02,4\n"


def _load(landing: Path, entity: str, mapping: dict | None = None, con=None):
    con = con or duckdb.connect()
    parsed = parse_mapping(mapping, None) if mapping is not None else load_mapping(landing)
    return con, load_entity(con, landing, parsed, entity)


@pytest.mark.parametrize(
    "pattern",
    ["../outside/orders.csv", "sub/../../outside/orders.csv", "{outside}/orders.csv", "/etc/pa*"],
)
def test_mapping_files_cannot_leave_the_landing_folder(tmp_path: Path, pattern: str) -> None:
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    landing.mkdir()
    outside.mkdir()
    (outside / "orders.csv").write_text(ORDERS)
    with pytest.raises(LandingError) as excinfo:
        _load(landing, "orders", {"orders": {"files": pattern.format(outside=outside)}})
    message = str(excinfo.value)
    assert "`orders.files`" in message and "inside the landing folder" in message


def test_a_symlink_to_a_file_outside_the_landing_folder_is_refused(tmp_path: Path) -> None:
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    landing.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text(ORDERS)
    os.symlink(outside / "secret.csv", landing / "orders.csv")
    with pytest.raises(LandingError, match="outside the landing folder"):
        _load(landing, "orders")
    # A symlink that stays inside the folder is fine.
    (landing / "orders.csv").unlink()
    (landing / "data").mkdir()
    (landing / "data" / "orders_2024.csv").write_text(ORDERS)
    os.symlink(landing / "data" / "orders_2024.csv", landing / "orders.csv")
    _, report = _load(landing, "orders", {"orders": {"files": "orders.csv"}})
    assert report.rows_loaded == 2


@pytest.mark.parametrize("content", ["", "order_id,customer_id,ordered_at,amount\n"])
def test_an_empty_or_header_only_required_file_fails_and_keeps_the_loaded_rows(
    landing_dir: Path, content: str
) -> None:
    (landing_dir / "orders.csv").write_text(ORDERS)
    con, first = _load(landing_dir, "orders")
    assert first.rows_loaded == 2
    (landing_dir / "orders.csv").write_text(content)
    with pytest.raises(LandingError) as excinfo:
        _load(landing_dir, "orders", con=con)
    message = str(excinfo.value)
    assert "orders.csv" in message and "no data row" in message
    assert con.execute("select count(*) from raw.orders").fetchall() == [(2,)]


def test_a_utf16_file_error_names_the_encoding_setting_not_the_data(landing_dir: Path) -> None:
    rows = "customer_id,signup_at,email\n" + "".join(
        f"C{i},2024-01-0{i % 9 + 1},jane{i}.doe@example.com\n" for i in range(30)
    )
    # Without a byte-order mark (a UTF-16 file with one is recognised and loads).
    (landing_dir / "customers.csv").write_bytes(rows.encode("utf-16-le"))
    with pytest.raises(LandingError) as excinfo:
        _load(landing_dir, "customers")
    message = str(excinfo.value)
    assert "`customers.encoding: utf-16`" in message
    assert "example.com" not in message.replace("\x00", "") and "jane" not in message


def test_a_file_without_header_row_does_not_quote_its_first_row(landing_dir: Path) -> None:
    (landing_dir / "orders.csv").write_text(
        "o1,C000001,2024-01-01,3.50\no2,C000002,2024-01-02,4.00\n"
    )
    with pytest.raises(LandingError) as excinfo:
        _load(landing_dir, "orders")
    message = str(excinfo.value)
    assert "C000001" not in message and "3.50" not in message
    assert "header row" in message


def test_dbt_error_metadata_redacts_quoted_values() -> None:
    from orchestration.defs.dbt import dbt_error_summary

    error = (
        'The dbt CLI process with command\n\n`dbt build --vars {"as_of": null}`\n\nfailed '
        "with exit code `1`.\n\nErrors parsed from dbt logs:\n\nConversion Error: Could not "
        "convert string 'jane.doe@example.com' to INT32\n\nConstraint Error: Duplicate key "
        '"customer_id: C000035" violates primary key constraint'
    )
    summary = dbt_error_summary(error)
    assert "jane.doe@example.com" not in summary and "C000035" not in summary
    assert "Could not convert string '…' to INT32" in summary
    assert '`dbt build --vars {"as_of": null}`' in summary  # the command is kept as it was
