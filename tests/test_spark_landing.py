"""The Spark landing loader writes the raw tables the DuckDB loader writes: same columns, same
text, same file and line of every row, same rejects, so dbt staging quarantines the same rows
on either engine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.landing import LandingError, Suppression, load_entity
from ingest.mapping import load_mapping
from ingest.spark_landing import java_datetime_pattern, load_entity_spark
from tests.support import foreign_exports as fe
from tests.support.spark import spark_session  # noqa: F401 (fixture)

ENTITIES = ("customers", "orders", "order_items", "events")


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in file order, every value as text (None for null), the batch number left out."""
    frame = frame.drop(columns="_batch", errors="ignore")
    frame = frame.sort_values(["_source_file", "_source_row"], ignore_index=True)
    return (
        frame.astype(object).where(frame.notna(), None).map(lambda v: None if v is None else str(v))
    )


def _assert_same_raw_tables(spark, landing: Path, entities: tuple[str, ...]) -> None:
    mapping = load_mapping(landing)
    con = duckdb.connect()
    for entity in entities:
        duck = load_entity(con, landing, mapping, entity)
        sparked = load_entity_spark(spark, landing, mapping, entity)
        table = f"raw.{mapping[entity].entity.raw_table}"
        expected = _as_text(con.execute(f"select * from {table}").df())
        actual = _as_text(spark.table(table).toPandas())
        assert list(actual.columns) == list(expected.columns), entity
        pd.testing.assert_frame_equal(actual, expected, obj=f"{entity} raw rows")
        rejects = ["_source_file", "_source_row", "raw_line", "error_type"]
        pd.testing.assert_frame_equal(
            _as_text(spark.table(f"{table}_rejects").toPandas()[rejects]),
            _as_text(con.execute(f"select * from {table}_rejects").df()[rejects]),
            obj=f"{entity} rejects",
        )
        assert (sparked.rows_loaded, sparked.rows_rejected, sparked.rows_merged) == (
            duck.rows_loaded,
            duck.rows_rejected,
            duck.rows_merged,
        ), entity
        assert sparked.derived_order_id == duck.derived_order_id
        log = spark.table(f"{table}_load").first()
        assert log["rows_read"] == duck.rows_read


def test_foreign_layouts_load_row_for_row_as_on_duckdb(spark_session, tmp_path: Path) -> None:  # noqa: F811
    """Whitespace-aligned, decimal-comma, header-less, fixed-width, UTF-16 and $-amount
    exports: every raw row equal to the DuckDB loader's, line numbers included."""
    for name, writer in sorted(fe.WRITERS.items()):
        landing = tmp_path / name
        landing.mkdir()
        writer(landing, n_customers=40)
        _assert_same_raw_tables(spark_session, landing, ("orders",))


def test_double_pipe_and_latin1_files_load_as_on_duckdb(spark_session, tmp_path: Path) -> None:  # noqa: F811
    """A `||`-delimited file (split in Spark SQL) and a Latin-1 `;` file with a mapped status
    and a value the mapping cannot translate (kept as written)."""
    pipes = tmp_path / "pipes"
    pipes.mkdir()
    (pipes / "orders.txt").write_text(
        "customer_id||ordered_at||amount\nA1||2024-01-02||10.50\nA2||2024-01-03||7\n"
        "A3||2024-01-04\nA1||2024-02-01||3.25\n"
    )
    _assert_same_raw_tables(spark_session, pipes, ("orders",))
    assert spark_session.table("raw.orders_rejects").count() == 1

    latin = tmp_path / "latin"
    latin.mkdir()
    (latin / "orders.csv").write_bytes(
        "Kunde;Datum;Betrag;Zustand\nMüller;03.01.2024;1.234,50;bezahlt\n"
        "Jörg;4.1.2024;12,00;storniert\nÅsa;31.02.2024;zwölf;offen\n".encode("latin-1")
    )
    (latin / "mapping.yaml").write_text(
        "orders:\n  delimiter: ';'\n  encoding: latin-1\n  date_format: '%d.%m.%Y'\n"
        "  decimal_separator: ','\n  status_values: {bezahlt: completed, storniert: cancelled}\n"
        "  columns: {customer_id: Kunde, ordered_at: Datum, amount: Betrag, status: Zustand}\n"
    )
    _assert_same_raw_tables(spark_session, latin, ("orders",))
    rows = spark_session.table("raw.orders").orderBy("_source_row").collect()
    assert [r["customer_id"] for r in rows] == ["Müller", "Jörg", "Åsa"]
    assert [r["status"] for r in rows] == ["completed", "cancelled", "offen"]
    assert rows[2]["ordered_at"] == "31.02.2024" and rows[2]["amount"] == "zwölf"


def test_demo_data_and_ragged_lines_load_as_on_duckdb(spark_session, tmp_path: Path) -> None:  # noqa: F811
    from demo_data import generate, write_dataset

    written = write_dataset(generate(n_customers=120, seed=5), tmp_path / "csv", tmp_path / "t")
    orders = written.landing_dir / "orders.csv"
    lines = orders.read_text().splitlines()
    # A line with a field too many and one with a field too few: both rejected, by line.
    lines[3] += ",surplus"
    lines[7] = lines[7].rsplit(",", 1)[0]
    orders.write_text("\n".join(lines) + "\n")
    _assert_same_raw_tables(spark_session, written.landing_dir, ENTITIES)
    assert spark_session.table("raw.orders_rejects").count() == 2

    parquet = write_dataset(
        generate(n_customers=60, seed=6), tmp_path / "pq", tmp_path / "t2", file_format="parquet"
    )
    _assert_same_raw_tables(spark_session, parquet.landing_dir, ("orders", "order_items"))


def test_what_the_spark_loader_cannot_do_yet_is_an_error(spark_session, landing_dir: Path) -> None:  # noqa: F811
    fe.headerless_pipe(landing_dir, n_customers=5)
    erased = Suppression(salt_hex="00", customer_hashes=frozenset({"ab"}))
    with pytest.raises(LandingError, match=r"erasure list.*INSIGHTS_ENGINE=duckdb"):
        load_entity_spark(spark_session, landing_dir, load_mapping(landing_dir), "orders", erased)


def test_strptime_formats_become_spark_patterns() -> None:
    assert java_datetime_pattern("%d.%m.%Y") == "d.M.yyyy"
    assert java_datetime_pattern("%Y%m%d") == "yyyyMMdd"
    assert java_datetime_pattern("%m/%d/%Y %I:%M %p") == "M/d/yyyy h:m a"
    assert java_datetime_pattern("%Y-%m-%dT%H:%M:%S") == "yyyy-M-d'T'H:m:s"
    with pytest.raises(LandingError, match="%Q"):
        java_datetime_pattern("%Q")
