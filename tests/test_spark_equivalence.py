"""The dbt project on Apache Spark (dbt-spark, session mode, local Spark on 2 cores) builds the
same marts as on DuckDB: the demo warehouse's landing tables are copied into Spark's `raw`
database, every model up to the marts plus the quarantine and its audit is built with
`dbt build --target spark` (data tests included), and the feature marts are compared row by row
with the DuckDB refresh of the same data."""

from __future__ import annotations

import decimal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.refresh import RefreshedWarehouse
from tests.support.spark import (
    copy_raw_tables,
    failures,
    java_available,
    run_dbt_on_spark,
    spark_session,  # noqa: F401 (fixture)
)

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        not java_available(), reason="no Java runtime (install openjdk-17-jre-headless)"
    ),
]

# Keys of each compared mart; inputs_fingerprint is an engine-specific hash (DuckDB's hash()
# against Spark's xxhash64) that only ever compares with itself, so it is left out.
COMPARED = {
    "marts.customer_rfm": ["customer_id"],
    "marts.customer_engagement": ["customer_id"],
    "marts.customer_features": ["customer_id"],
    "marts.churn_training_set": ["customer_id", "cutoff_date"],
    "marts.customer_behaviour": ["customer_id"],
    "marts.customer_category_cadence": ["customer_id", "category"],
    "marts.customer_category_seasonality": ["customer_id", "category"],
    "marts.customer_channel_responses": ["customer_id", "channel", "source"],
    "quarantine.load_audit": ["entity"],
}
ENGINE_SPECIFIC = {"inputs_fingerprint", "loaded_at"}
RELATIVE_TOLERANCE = 1e-9


@pytest.fixture(scope="session")
def spark_build(
    demo_warehouse: RefreshedWarehouse,
    spark_session,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[object, object, float]]:
    """The session's local Spark, with the demo data's marts built on it by dbt."""
    pytest.importorskip("dbt.adapters.spark", reason="dbt-spark is a project dependency")
    workdir = tmp_path_factory.mktemp("spark-dbt")
    copy_raw_tables(spark_session, demo_warehouse.warehouse_path, workdir)
    started = time.monotonic()
    result = run_dbt_on_spark(
        ["build", "--select", "+marts", "+quarantine"],
        workdir,
        # The settings the DuckDB refresh ran with (orchestration/defs/dbt.py dbt_vars).
        {"as_of": None, "run_date": datetime.now(UTC).date().isoformat()},
    )
    yield spark_session, result, time.monotonic() - started


def test_dbt_builds_and_tests_every_model_up_to_the_marts_on_spark(spark_build) -> None:
    _, result, seconds = spark_build
    assert result.success, failures(result)
    statuses = {node_result.node.name: str(node_result.status) for node_result in result.result}
    # Staging, the quarantine and its share tests, snapshots and marts all ran, and passed.
    for name in ("stg_landing__orders", "quarantine_events", "load_audit", "churn_training_set"):
        assert statuses.get(name) == "success", (name, statuses.get(name))
    assert any(name.startswith("quarantine_share_within_limit") for name in statuses)
    print(f"dbt build on Spark: {seconds:.0f} s")


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_spark_marts_equal_duckdb_marts(
    spark_build, demo_warehouse: RefreshedWarehouse, table: str
) -> None:
    spark, result, _ = spark_build
    assert result.success, failures(result)
    keys = COMPARED[table]
    duck = demo_warehouse.query(f"select * from {table}")
    on_spark = spark.table(table).toPandas()
    assert sorted(set(on_spark.columns) - ENGINE_SPECIFIC) == sorted(
        set(duck.columns) - ENGINE_SPECIFIC
    )
    assert len(on_spark) == len(duck) > 0
    duck = duck.sort_values(keys, ignore_index=True)
    on_spark = on_spark.sort_values(keys, ignore_index=True)
    for column in sorted(set(duck.columns) - ENGINE_SPECIFIC):
        _assert_same_values(table, column, duck[column], on_spark[column])


def _assert_same_values(table: str, column: str, expected: pd.Series, actual: pd.Series) -> None:
    where = f"{table}.{column}"
    if _is_temporal(expected) or _is_temporal(actual):
        left, right = pd.to_datetime(expected), pd.to_datetime(actual)
        assert left.isna().equals(right.isna()), where
        assert (left[left.notna()] == right[right.notna()]).all(), where
        return
    if _is_numeric(expected) and _is_numeric(actual):
        left = expected.map(_as_float).to_numpy(dtype=float)
        right = actual.map(_as_float).to_numpy(dtype=float)
        close = np.isclose(left, right, rtol=RELATIVE_TOLERANCE, atol=0.0, equal_nan=True)
        assert close.all(), (where, list(zip(left[~close][:5], right[~close][:5], strict=True)))
        return
    left = [None if _missing(v) else str(v) for v in expected]
    right = [None if _missing(v) else str(v) for v in actual]
    differ = [(a, b) for a, b in zip(left, right, strict=True) if a != b]
    assert not differ, (where, differ[:5])


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _as_float(value: object) -> float:
    return np.nan if _missing(value) else float(value)


def _is_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    present = series.dropna()
    return len(present) > 0 and all(
        isinstance(v, int | float | decimal.Decimal | np.number) and not isinstance(v, bool)
        for v in present
    )


def _is_temporal(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    present = series.dropna()
    return len(present) > 0 and all(hasattr(v, "isoformat") for v in present)


def test_a_second_spark_run_keeps_the_unchanged_cutoffs(spark_build, tmp_path: Path) -> None:
    """Incremental on Spark: with nothing changed, the snapshot models drop and rebuild only
    the as-of cutoff's partition (it has no fingerprint) and keep the historical ones."""
    spark, result, _ = spark_build
    assert result.success, failures(result)
    table = "marts.customer_feature_snapshots"
    per_cutoff = "select cutoff_date, count(*) as n from {} group by cutoff_date"
    before = {row.cutoff_date: row.n for row in spark.sql(per_cutoff.format(table)).collect()}
    files_before = set(spark.table(table).inputFiles())
    second = run_dbt_on_spark(
        ["run", "--select", "customer_feature_snapshots", "churn_training_set"],
        tmp_path,
        {"as_of": None, "run_date": datetime.now(UTC).date().isoformat()},
    )
    assert second.success, failures(second)
    after = {row.cutoff_date: row.n for row in spark.sql(per_cutoff.format(table)).collect()}
    assert after == before
    files_after = set(spark.table(table).inputFiles())
    # Historical partitions keep their files; the as-of partition's files are new.
    as_of = max(before)
    kept = {f for f in files_before if f"cutoff_date={as_of.isoformat()}" not in f}
    assert kept and kept <= files_after
    assert not {f for f in files_before if f"cutoff_date={as_of.isoformat()}" in f} & files_after
