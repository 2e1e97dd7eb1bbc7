"""The raw loader: file discovery, mapping, parser rejects with line numbers, clear errors."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.landing import LandingError, load_entity
from ingest.mapping import load_mapping, parse_mapping


def _load(landing: Path, entity: str, mapping: dict | None = None):
    con = duckdb.connect()
    parsed = parse_mapping(mapping, None) if mapping is not None else load_mapping(landing)
    report = load_entity(con, landing, parsed, entity)
    return con, report


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_ragged_and_badly_encoded_lines_are_rejected_with_their_line_numbers(
    landing_dir: Path,
) -> None:
    (landing_dir / "orders.csv").write_bytes(
        b"order_id,customer_id,ordered_at,amount,status\n"
        b"o1,c1,2024-01-01,10.5,completed\n"  # line 2
        b"o2,c1,2024-01-03\n"  # line 3: too few columns
        b"o3,c2,2024-02-01,7,completed\n"  # line 4
        b"o4,c2,2024-02-01,7,completed,extra\n"  # line 5: too many columns
        b"o5,caf\xe9,2024-02-02,7,completed\n"  # line 6: not UTF-8
        b"o6,c3,2024-02-03,9,completed\n"  # line 7
    )
    con, report = _load(landing_dir, "orders")
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (6, 3, 3)
    assert _rows(con, "select order_id, _source_row from raw.orders order by 2") == [
        ("o1", 2),
        ("o3", 4),
        ("o6", 7),
    ]
    rejects = _rows(con, "select _source_row, error_type from raw.orders_rejects order by 1")
    assert rejects == [
        (3, "MISSING COLUMNS"),
        (5, "TOO MANY COLUMNS"),
        (6, "INVALID ENCODING"),
    ]


def test_latin1_file_reads_with_the_mapped_encoding(landing_dir: Path) -> None:
    (landing_dir / "customers.csv").write_bytes(
        "customer_id,country\nc1,Sévres\n".encode("latin-1")
    )
    con, report = _load(landing_dir, "customers", {"customers": {"encoding": "latin-1"}})
    assert report.rows_rejected == 0
    assert _rows(con, "select country from raw.customers") == [("Sévres",)]


def test_mapping_renames_columns_and_normalises_dates_decimals_and_statuses(
    landing_dir: Path,
) -> None:
    (landing_dir / "export.csv").write_text(
        "Kunde;Datum;Betrag;Zustand;Stueck\n"
        "A;31/01/2024;1.234,50;Storniert;2\n"
        "B;not a date;12,00;ok;1\n"
    )
    mapping = {
        "orders": {
            "files": "export.csv",
            "delimiter": ";",
            "date_format": "%d/%m/%Y",
            "decimal_separator": ",",
            "columns": {
                "customer_id": "kunde",  # header matching ignores case
                "ordered_at": "Datum",
                "amount": "Betrag",
                "status": "Zustand",
            },
            "status_values": {"storniert": "cancelled", "OK": "completed"},
        }
    }
    con, report = _load(landing_dir, "orders", mapping)
    assert report.ignored_columns == ["Stueck"]
    assert report.derived_order_id
    rows = _rows(con, "select customer_id, ordered_at, amount, status from raw.orders order by 1")
    # A date that does not match the format is kept as written, so staging quarantines it.
    assert rows == [
        ("A", "2024-01-31 00:00:00", "1234.50", "cancelled"),
        ("B", "not a date", "12.00", "completed"),
    ]


def test_derived_order_ids_keep_repeat_purchases_apart_and_ignore_row_order(
    landing_dir: Path,
) -> None:
    header = "customer,date,value\n"
    lines = ["A,2024-01-01,5\n", "A,2024-01-01,5\n", "B,2024-01-02,7\n"]
    mapping = {
        "orders": {
            "files": "t.csv",
            "columns": {"customer_id": "customer", "ordered_at": "date", "amount": "value"},
        }
    }
    (landing_dir / "t.csv").write_text(header + "".join(lines))
    con, _ = _load(landing_dir, "orders", mapping)
    first = sorted(_rows(con, "select order_id, customer_id from raw.orders"))
    (landing_dir / "t.csv").write_text(header + "".join(reversed(lines)))
    con, _ = _load(landing_dir, "orders", mapping)
    second = sorted(_rows(con, "select order_id, customer_id from raw.orders"))
    assert first == second
    assert len({order_id for order_id, _ in first}) == 3


def test_parquet_files_keep_types_and_row_numbers(landing_dir: Path) -> None:
    con = duckdb.connect()
    con.execute(
        "copy (select 'c' || i as customer_id, "
        "timestamp '2024-01-01' + to_days(cast(i as integer)) as occurred_at, "
        "'login' as event_type from range(3) t(i)) "
        f"to '{landing_dir / 'events.parquet'}' (format parquet)"
    )
    con, report = _load(landing_dir, "events")
    assert report.file_format == "parquet"
    assert report.missing_optional_columns == ["properties"]
    assert _rows(con, "select customer_id, _source_row from raw.events order by 2") == [
        ("c0", 1),
        ("c1", 2),
        ("c2", 3),
    ]


def test_several_files_of_one_entity_are_loaded_together(landing_dir: Path) -> None:
    (landing_dir / "events").mkdir()
    for day in ("2024-01-01", "2024-01-02"):
        (landing_dir / "events" / f"{day}.csv").write_text(
            f"customer_id,occurred_at,event_type\nc1,{day},login\n"
        )
    con, report = _load(landing_dir, "events")
    assert len(report.files) == 2
    assert _rows(con, "select _source_file, _source_row from raw.events order by 1") == [
        ("2024-01-01.csv", 2),
        ("2024-01-02.csv", 2),
    ]


def test_empty_and_header_only_files_load_zero_rows(landing_dir: Path) -> None:
    (landing_dir / "customers.csv").write_text("")
    (landing_dir / "events.csv").write_text("customer_id,occurred_at,event_type\n")
    con, customers = _load(landing_dir, "customers")
    assert customers.rows_read == 0
    assert customers.notes
    con, events = _load(landing_dir, "events")
    assert events.rows_read == 0
    assert _rows(con, "select count(*) from raw.events") == [(0,)]


def test_absent_optional_entity_gives_an_empty_contract_table(landing_dir: Path) -> None:
    con, report = _load(landing_dir, "order_items")
    assert not report.present
    columns = [r[0] for r in _rows(con, "describe raw.order_items")]
    assert columns[:5] == ["order_id", "product_id", "category", "quantity", "unit_price"]
    assert _rows(con, "select count(*) from raw.order_items_rejects") == [(0,)]


def test_missing_orders_file_names_the_folder_and_the_mapping_key(landing_dir: Path) -> None:
    with pytest.raises(LandingError) as excinfo:
        _load(landing_dir, "orders")
    message = str(excinfo.value)
    assert str(landing_dir) in message
    assert "orders.csv" in message
    assert "`orders.files`" in message


def test_missing_required_column_names_file_column_and_mapping_key(landing_dir: Path) -> None:
    (landing_dir / "orders.csv").write_text(
        "order_id,customer,ordered_at,amount\no1,c1,2024-01-01,3\n"
    )
    with pytest.raises(LandingError) as excinfo:
        _load(landing_dir, "orders")
    message = str(excinfo.value)
    assert "orders.csv" in message
    assert "'customer_id'" in message
    assert "`orders.columns.customer_id`" in message


def test_mapped_file_that_does_not_exist_is_an_error(landing_dir: Path) -> None:
    with pytest.raises(LandingError, match="no such file exists"):
        _load(landing_dir, "orders", {"orders": {"files": "nope.csv"}})


def test_mixed_formats_for_one_entity_are_refused(landing_dir: Path) -> None:
    (landing_dir / "orders").mkdir()
    (landing_dir / "orders" / "a.csv").write_text("customer_id,ordered_at,amount\nc,2024-01-01,1\n")
    parquet = landing_dir / "orders" / "b.parquet"
    duckdb.connect().execute(f"copy (select 'c' as customer_id) to '{parquet}' (format parquet)")
    with pytest.raises(LandingError, match="mix CSV and Parquet"):
        _load(landing_dir, "orders")


def test_a_non_parquet_file_named_parquet_fails_with_the_file_name(landing_dir: Path) -> None:
    (landing_dir / "orders.parquet").write_text("this is not parquet")
    with pytest.raises(LandingError, match=r"orders\.parquet: not a readable Parquet file"):
        _load(landing_dir, "orders")


def _daily_event_file(folder: Path, day: str, lines: list[str]) -> None:
    body = "customer_id,occurred_at,event_type\n" + "".join(f"{line}\n" for line in lines)
    (folder / f"{day}.csv").write_text(body)


def test_a_new_daily_file_is_appended_without_rereading_the_history(landing_dir: Path) -> None:
    folder = landing_dir / "events"
    folder.mkdir()
    _daily_event_file(folder, "2024-01-01", ["c1,2024-01-01,login", "c2,2024-01-01,login"])
    con = duckdb.connect()
    mapping = load_mapping(landing_dir)
    first = load_entity(con, landing_dir, mapping, "events")
    assert (first.mode, first.files_read, first.rows_loaded) == ("full", 1, 2)

    again = load_entity(con, landing_dir, mapping, "events")
    assert (again.mode, again.files_read, again.rows_loaded) == ("unchanged", 0, 2)
    assert _rows(con, "select load_mode, rows_loaded from raw.events_load") == [("unchanged", 2)]

    # The new day has a ragged line 3: it is rejected with its own file's line number.
    _daily_event_file(
        folder, "2024-01-02", ["c1,2024-01-02,login", "c3,2024-01-02", "c3,2024-01-02,login"]
    )
    appended = load_entity(con, landing_dir, mapping, "events")
    assert (appended.mode, appended.files_read) == ("append", 1)
    # Report counts cover the whole raw table, like a full load would.
    assert (appended.rows_loaded, appended.rows_rejected) == (4, 1)
    assert _rows(
        con, "select _source_file, _source_row, _batch from raw.events order by 3, 1, 2"
    ) == [
        ("2024-01-01.csv", 2, 1),
        ("2024-01-01.csv", 3, 1),
        ("2024-01-02.csv", 2, 2),
        ("2024-01-02.csv", 4, 2),
    ]
    assert _rows(con, "select _source_file, _source_row from raw.events_rejects") == [
        ("2024-01-02.csv", 3)
    ]
    log = _rows(con, "select rows_loaded, rows_rejected from raw.events_load")
    assert log == [(4, 1)]


def test_appending_gives_the_same_rows_as_loading_everything_at_once(landing_dir: Path) -> None:
    folder = landing_dir / "events"
    folder.mkdir()
    _daily_event_file(folder, "2024-01-01", ["c1,2024-01-01,login", "c1,2024-01-01"])
    mapping = load_mapping(landing_dir)
    stepwise = duckdb.connect()
    load_entity(stepwise, landing_dir, mapping, "events")
    _daily_event_file(folder, "2024-01-02", ["c2,2024-01-02", "c2,2024-01-02,login"])
    load_entity(stepwise, landing_dir, mapping, "events")
    at_once = duckdb.connect()
    load_entity(at_once, landing_dir, mapping, "events", incremental=False)
    for table in ("raw.events", "raw.events_rejects"):
        query = f"select * exclude (_batch) from {table} order by all"
        if table.endswith("rejects"):
            query = f"select _source_file, _source_row, raw_line from {table} order by all"
        assert _rows(stepwise, query) == _rows(at_once, query)


def test_a_changed_or_removed_file_triggers_a_full_reload(landing_dir: Path) -> None:
    folder = landing_dir / "events"
    folder.mkdir()
    _daily_event_file(folder, "2024-01-01", ["c1,2024-01-01,login"])
    _daily_event_file(folder, "2024-01-02", ["c2,2024-01-02,login"])
    con = duckdb.connect()
    mapping = load_mapping(landing_dir)
    load_entity(con, landing_dir, mapping, "events")

    _daily_event_file(folder, "2024-01-01", ["c1,2024-01-01,login", "c9,2024-01-01,login"])
    corrected = load_entity(con, landing_dir, mapping, "events")
    assert (corrected.mode, corrected.files_read, corrected.rows_loaded) == ("full", 2, 3)

    (folder / "2024-01-02.csv").unlink()
    removed = load_entity(con, landing_dir, mapping, "events")
    assert (removed.mode, removed.rows_loaded) == ("full", 2)
    assert _rows(con, "select distinct _source_file from raw.events") == [("2024-01-01.csv",)]


def test_multi_character_delimiter_and_quoted_fields(landing_dir: Path) -> None:
    (landing_dir / "orders.txt").write_text(
        'customer_id||ordered_at||amount\n"c1"||2024-01-05||10.00\nc2||2024-01-06\nc3||20240107||3\n'
    )
    con, report = _load(landing_dir, "orders", {"orders": {"delimiter": "||"}})
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)
    assert _rows(con, "select customer_id, ordered_at, _source_row from raw.orders order by 3") == [
        ("c1", "2024-01-05", 2),
        ("c3", "2024-01-07", 4),
    ]
    assert _rows(con, "select _source_row, error_type from raw.orders_rejects") == [
        (3, "MISSING COLUMNS")
    ]


def test_headerless_fixed_width_file_with_column_names(landing_dir: Path) -> None:
    (landing_dir / "orders.dat").write_text("A001  19970101  12.50\nA002  19970102   3.00\n")
    mapping = {
        "orders": {
            "widths": [6, 10, 6],
            "header": False,
            "column_names": ["cust", "day", "value"],
            "columns": {"customer_id": "cust", "ordered_at": "day", "amount": "value"},
        }
    }
    con, report = _load(landing_dir, "orders", mapping)
    assert report.rows_loaded == 2
    query = "select customer_id, ordered_at, amount, _source_row from raw.orders order by 4"
    assert _rows(con, query) == [
        ("A001", "1997-01-01", "12.50", 1),
        ("A002", "1997-01-02", "3.00", 2),
    ]


def test_integer_dates_in_parquet_and_untranslatable_amounts_stay_as_written(
    landing_dir: Path,
) -> None:
    duckdb.execute(
        "copy (select * from (values ('c1', 19970101, '$1,234.50'), ('c2', 19970230, '$ 7'), "
        "('c3', 19970301, 'n/a')) t(customer_id, ordered_at, amount)) "
        f"to '{landing_dir / 'orders.parquet'}' (format parquet)"
    )
    mapping = {"orders": {"currency_symbols": ["$"], "thousands_separator": ","}}
    con, _ = _load(landing_dir, "orders", mapping)
    # 1997-02-30 is no date: it stays as written, so staging quarantines it verbatim.
    assert _rows(con, "select ordered_at, amount from raw.orders order by _source_row") == [
        ("1997-01-01", "1234.50"),
        ("19970230", "7"),
        ("1997-03-01", "n/a"),
    ]


def test_headerless_csv_keeps_true_line_numbers_around_rejects(landing_dir: Path) -> None:
    (landing_dir / "orders.csv").write_text(
        "c1,2024-01-01,5\nc2,2024-01-02\nc3,2024-01-03,7\nc4,2024-01-04,8,9\nc5,2024-01-05,1\n"
    )
    mapping = {
        "orders": {"header": False, "columns": {"customer_id": 1, "ordered_at": 2, "amount": 3}}
    }
    con, report = _load(landing_dir, "orders", mapping)
    assert (report.rows_loaded, report.rows_rejected) == (3, 2)
    assert _rows(con, "select customer_id, _source_row from raw.orders order by 2") == [
        ("c1", 1),
        ("c3", 3),
        ("c5", 5),
    ]
    assert _rows(con, "select _source_row from raw.orders_rejects order by 1") == [(2,), (4,)]


_KILLED_LOAD = """
import sys
from pathlib import Path
import duckdb
from ingest.landing import load_entity
from ingest.mapping import load_mapping
landing, database = Path(sys.argv[1]), sys.argv[2]
con = duckdb.connect(database)
load_entity(con, landing, load_mapping(landing), "events")
"""


def _load_in_subprocess(landing: Path, database: Path, failpoint: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "INSIGHTS_FAILPOINT"}
    if failpoint:
        env["INSIGHTS_FAILPOINT"] = failpoint
    env["PYTHONPATH"] = str(Path(__file__).parents[1])
    return subprocess.run(
        [sys.executable, "-c", _KILLED_LOAD, str(landing), str(database)], env=env, timeout=120
    ).returncode


def _same_as_a_clean_load(con: duckdb.DuckDBPyConnection, landing_dir: Path) -> None:
    clean = duckdb.connect()
    load_entity(clean, landing_dir, load_mapping(landing_dir), "events", incremental=False)
    for table in ("raw.events", "raw.events_rejects"):
        sql = f"select * exclude (_batch) from {table} order by all"
        if table.endswith("rejects"):
            sql = f"select _source_file, _source_row, raw_line from {table} order by all"
        assert _rows(con, sql) == _rows(clean, sql), table
    (read, loaded, rejected), count = (
        _rows(con, "select rows_read, rows_loaded, rows_rejected from raw.events_load")[0],
        _rows(con, "select count(*) from raw.events")[0][0],
    )
    assert (loaded, read) == (count, count + rejected)


def test_a_load_killed_before_its_file_record_leaves_no_rows_and_the_rerun_is_clean(
    landing_dir: Path, tmp_path: Path
) -> None:
    folder = landing_dir / "events"
    folder.mkdir()
    _daily_event_file(folder, "2024-01-01", ["c1,2024-01-01,login", "c2,2024-01-01,login"])
    database = tmp_path / "warehouse.duckdb"
    assert _load_in_subprocess(landing_dir, database) == 0
    _daily_event_file(folder, "2024-01-02", ["c1,2024-01-02,login", "c3,2024-01-02", "c4,x,y"])
    # Killed after the new day's rows were written, before the file was recorded.
    assert _load_in_subprocess(landing_dir, database, "load:before_record") == -signal.SIGKILL
    con = duckdb.connect(str(database))
    assert _rows(con, "select distinct _source_file from raw.events") == [("2024-01-01.csv",)]
    rerun = load_entity(con, landing_dir, load_mapping(landing_dir), "events")
    assert (rerun.mode, rerun.files_read) == ("append", 1)
    _same_as_a_clean_load(con, landing_dir)


def test_rows_of_an_unrecorded_load_are_removed_and_every_file_reloaded(
    landing_dir: Path,
) -> None:
    folder = landing_dir / "events"
    folder.mkdir()
    _daily_event_file(folder, "2024-01-01", ["c1,2024-01-01,login", "c2,2024-01-01"])
    con = duckdb.connect()
    mapping = load_mapping(landing_dir)
    load_entity(con, landing_dir, mapping, "events")
    # What a crash between the append and its file record left behind in older versions.
    con.execute("insert into raw.events select * replace (99 as _batch) from raw.events")
    repaired = load_entity(con, landing_dir, mapping, "events")
    assert repaired.mode == "full"
    assert any(note.startswith("repaired: 1 row(s)") for note in repaired.notes)
    _same_as_a_clean_load(con, landing_dir)
    assert load_entity(con, landing_dir, mapping, "events").mode == "unchanged"
