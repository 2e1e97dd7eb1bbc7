"""A Dagster refresh on Apache Spark builds the same marts as on DuckDB: with
INSIGHTS_ENGINE=spark the refresh job's raw assets load the demo landing files with Spark's
readers and its `dbt_models` step runs `dbt build --target spark` in this process (dbt-spark,
session mode, the test session's local Spark on 2 cores), data tests included; the feature
marts are compared row by row with the DuckDB refresh of the same data (`demo_warehouse`)."""

from __future__ import annotations

import decimal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tests.refresh import RefreshedWarehouse, refresh
from tests.support.spark import (
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


@dataclass
class SparkRefresh:
    spark: object
    run: RefreshedWarehouse
    seconds: float


def _raw_and_dbt_models() -> list[dg.AssetKey]:
    from orchestration.defs.dbt import dbt_models
    from orchestration.defs.landing import RAW_ASSETS

    return [key for assets in (*RAW_ASSETS, dbt_models) for key in assets.keys]


def _spark_refresh(landing: Path, workdir: Path, **options: object) -> RefreshedWarehouse:
    """The refresh job on the Spark engine (the running test session is the run's session)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INSIGHTS_ENGINE", "spark")
        return refresh(landing, workdir / "warehouse.duckdb", raise_on_error=False, **options)


@pytest.fixture(scope="session")
def spark_build(
    demo_warehouse: RefreshedWarehouse,
    spark_session,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SparkRefresh]:
    """The demo landing files refreshed through Dagster on the session's local Spark: raw
    assets and the dbt models (everything but the serving models)."""
    pytest.importorskip("dbt.adapters.spark", reason="dbt-spark is a project dependency")
    started = time.monotonic()
    run = _spark_refresh(
        demo_warehouse.landing_dir,
        tmp_path_factory.mktemp("spark-refresh"),
        asset_selection=_raw_and_dbt_models(),
    )
    yield SparkRefresh(spark_session, run, time.monotonic() - started)


def _assert_succeeded(build: SparkRefresh) -> None:
    failed = [
        f"{e.step_key}: {e.event_specific_data.error.message}"
        for e in build.run.result.all_events
        if e.is_step_failure
    ]
    assert build.run.result.success, failed


def test_the_dagster_refresh_builds_and_tests_every_dbt_model_on_spark(spark_build) -> None:
    _assert_succeeded(spark_build)
    result = spark_build.run.result
    materialized = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    # Every model, seed and raw table of the selection: one materialization each.
    expected = {key.to_user_string() for key in _raw_and_dbt_models()}
    assert set(materialized) == expected
    for key in ("staging/stg_landing__orders", "quarantine/load_audit", "marts/churn_training_set"):
        assert materialized[key]["status"].value == "success", key
    # Table metadata read from Spark, as the DuckDB path reads it from the warehouse.
    features = materialized["marts/customer_features"]
    assert features["dagster/row_count"].value == (
        spark_build.spark.table("marts.customer_features").count()
    )
    assert features["dagster/table_name"].value == "marts.customer_features"
    assert "share_with_decision_style" in materialized["marts/customer_behaviour"]
    # The dbt tests became asset check results, all passed (quarantine share tests included).
    checks = result.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)
    assert any(c.check_name.startswith("quarantine_share_within_limit") for c in checks)
    # The Spark target's parse state is kept apart from the DuckDB CLI runs' one.
    from orchestration.project import dbt_project

    assert dbt_project.manifest_path.with_name("partial_parse.spark.msgpack").exists()
    print(f"Dagster refresh of raw + dbt models on Spark: {spark_build.seconds:.0f} s")


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_spark_marts_equal_duckdb_marts(
    spark_build, demo_warehouse: RefreshedWarehouse, table: str
) -> None:
    _assert_succeeded(spark_build)
    spark = spark_build.spark
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
    _assert_succeeded(spark_build)
    spark = spark_build.spark
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


def test_a_failed_dbt_test_on_spark_fails_the_step_naming_the_quarantined_file(
    demo_warehouse: RefreshedWarehouse, spark_build, tmp_path: Path
) -> None:
    """With every order amount above INSIGHTS_MAX_ABS_AMOUNT the orders quarantine share test
    fails on Spark, and the dbt step fails as on DuckDB: which entity, file and reason, read
    from Spark's quarantine tables. Last in this module: it rebuilds the orders base and
    quarantine models with the tighter limit (nothing downstream of them is rebuilt)."""
    _assert_succeeded(spark_build)
    selection = [
        dg.AssetKey(["staging", "base_landing__orders"]),
        dg.AssetKey(["quarantine", "quarantine_orders"]),
    ]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("INSIGHTS_MAX_ABS_AMOUNT", "0.001")
        run = _spark_refresh(demo_warehouse.landing_dir, tmp_path, asset_selection=selection)
    assert not run.result.success
    message = run.result.failure_data_for_node("dbt_models").user_failure_data.description
    assert "Stopped after loading" in message, message
    assert "orders: " in message and "more than the 20% allowed" in message, message
    assert "amount_out_of_range" in message and "File: orders" in message, message
    checks = run.result.get_asset_check_evaluations()
    assert any(
        c.check_name.startswith("quarantine_share_within_limit") and not c.passed for c in checks
    )
