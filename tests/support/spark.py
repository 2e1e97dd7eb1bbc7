"""Apache Spark in tests: one local SparkSession per test session (the `spark_session` fixture;
a local Spark takes 20-30 s to start, and a process can hold only one; a Dagster run with
INSIGHTS_ENGINE=spark joins it), and dbt run directly in this process so dbt-spark's
`method: session` finds that SparkSession instead of starting another.

Import the fixture into a test module: `from tests.support.spark import spark_session`. Tests
that need it skip, saying why, on a machine without Java."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from orchestration.project import DBT_PROJECT_DIR

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def java_missing() -> str | None:
    """Why Spark cannot start here, or None."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return None
    if shutil.which("java"):
        return None
    return "Spark needs Java (no `java` on PATH and no JAVA_HOME): install openjdk-17-jre-headless"


def java_available() -> bool:
    return java_missing() is None


def start_local_spark(workdir: Path) -> SparkSession:
    """The project's session builder (engines/spark_engine.py: UTC, Arrow, Python workers that
    import this project) on 2 cores with 4 shuffle partitions, its warehouse and Derby metastore
    under `workdir`, and the SQL settings of the dbt profile's `spark` output (non-ANSI)."""
    from engines.spark_engine import build_session

    spark = build_session(
        "local[2]",
        workdir / "warehouse",
        extra_conf={
            "spark.ui.showConsoleProgress": "false",
            "spark.default.parallelism": "2",
            "spark.sql.ansi.enabled": "false",
            "spark.driver.memory": "2g",
        },
        shuffle_partitions=4,
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The test session's one local Spark, stopped at the end of the session."""
    reason = java_missing()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("pyspark", reason="pyspark is a project dependency")
    spark = start_local_spark(tmp_path_factory.mktemp("spark"))
    yield spark
    spark.stop()


def run_dbt_on_spark(
    args: list[str], workdir: Path, run_settings: Mapping[str, Any] | None = None
) -> Any:
    """`dbt <args> --target spark` in this process (dbtRunner), run settings passed as the
    INSIGHTS_DBT_<NAME> env vars the Dagster step sets; returns dbt's result object."""
    from dbt.cli.main import dbtRunner

    from orchestration.defs.dbt import run_settings_env

    with run_settings_env(run_settings or {}):
        return dbtRunner().invoke(
            [
                *args,
                "--no-send-anonymous-usage-stats",
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
