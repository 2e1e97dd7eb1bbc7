"""The dbt project on Apache Spark in tests: one local SparkSession per test session, the landing
raw tables copied from a DuckDB warehouse (what the DuckDB loader wrote), and dbt run in this
process so dbt-spark's `method: session` finds that SparkSession instead of starting another
(a local Spark takes 20-30 s to start)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from orchestration.project import DBT_PROJECT_DIR

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RAW_SCHEMA = "raw"
# Besides the entity tables, the quarantine and audit models read these per entity.
RAW_SUFFIXES = ("", "_rejects", "_load")
ENTITIES = ("customers", "orders", "order_items", "events")


def java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def start_local_spark(workdir: Path) -> SparkSession:
    """A local Spark on 2 cores with its warehouse and Derby metastore under `workdir`; the
    SQL settings match the dbt profile's `spark` output (UTC, non-ANSI)."""
    from pyspark.sql import SparkSession

    workdir.mkdir(parents=True, exist_ok=True)
    metastore = workdir / "metastore_db"
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("customer-insights-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.warehouse.dir", str(workdir / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={workdir}")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={metastore};create=true",
        )
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.driver.memory", "2g")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def copy_raw_tables(spark: SparkSession, warehouse_path: Path, workdir: Path) -> list[str]:
    """Spark's `raw.<entity>`, `raw.<entity>_rejects` and `raw.<entity>_load` tables, as Parquet
    tables holding what the DuckDB loader wrote to the same names in `warehouse_path`."""
    parquet_dir = workdir / "raw_parquet"
    parquet_dir.mkdir(parents=True, exist_ok=True)
    spark.sql(f"create database if not exists {RAW_SCHEMA}")
    copied = []
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        for entity in ENTITIES:
            for suffix in RAW_SUFFIXES:
                table = f"{entity}{suffix}"
                # A folder per table: Spark (and Hive) tables live in folders, not files.
                path = parquet_dir / table
                path.mkdir(exist_ok=True)
                con.execute(
                    f"copy (select * from {RAW_SCHEMA}.{table}) to '{path / 'part-0.parquet'}' "
                    "(format parquet)"
                )
                spark.sql(f"drop table if exists {RAW_SCHEMA}.{table}")
                spark.sql(f"create table {RAW_SCHEMA}.{table} using parquet location '{path}'")
                copied.append(f"{RAW_SCHEMA}.{table}")
    return copied


@contextmanager
def _env(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_dbt_on_spark(
    args: list[str], workdir: Path, run_settings: Mapping[str, Any] | None = None
) -> Any:
    """`dbt <args> --target spark` in this process (dbtRunner), run settings passed as the
    INSIGHTS_DBT_<NAME> env vars the Dagster step sets; returns dbt's result object."""
    from dbt.cli.main import dbtRunner

    env = {
        f"INSIGHTS_DBT_{k.upper()}": "" if v is None else str(v)
        for k, v in (run_settings or {}).items()
    }
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    with _env(env):
        return dbtRunner().invoke(
            [
                *args,
                "--target",
                "spark",
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(workdir / "target"),
                "--log-path",
                str(workdir / "logs"),
            ]
        )


def failures(result: Any) -> str:
    """What failed in a dbt result, for an assertion message."""
    if result.exception is not None:
        return repr(result.exception)
    lines = []
    for node_result in result.result or []:
        if str(node_result.status) not in {"success", "pass", "skipped"}:
            lines.append(f"{node_result.node.name}: {node_result.status}: {node_result.message}")
    return "\n".join(lines) or json.dumps({"success": result.success})
