"""The `engine` resource: the refresh's SQL engine (engines/), one per run.

DuckDB: an Engine over the run's warehouse connection (WarehouseResource: same file, same lock).
Spark: one SparkSession, started on first use and stopped when the run ends (the job runs
in-process, so every step of the run shares it). Assets ask for an Engine and never test which
one they got; pyspark is imported by engines/spark_engine.py only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from engines import EngineSettings
from engines.base import Engine
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.warehouse import described_table
from orchestration.settings import engine_settings


class EngineResource(dg.ConfigurableResource):
    """Where the run's SQL work runs. Blank fields fall back to INSIGHTS_ENGINE,
    INSIGHTS_SPARK_MASTER and INSIGHTS_SPARK_WAREHOUSE_DIR, then to the defaults."""

    warehouse: WarehouseResource
    engine: str = Field(default="", description="duckdb or spark. Blank: INSIGHTS_ENGINE, duckdb.")
    spark_master: str = Field(
        default="", description="Spark master URL. Blank: INSIGHTS_SPARK_MASTER, else local[2]."
    )
    spark_warehouse_dir: str = Field(
        default="",
        description="Folder of Spark's managed tables. Blank: INSIGHTS_SPARK_WAREHOUSE_DIR, "
        "else spark-warehouse beside the DuckDB warehouse.",
    )
    _spark: Any = PrivateAttr(default=None)

    def settings(self) -> EngineSettings:
        env = engine_settings()
        return replace(
            env,
            name=self.engine.strip().lower() or env.name,
            spark_master=self.spark_master.strip() or env.spark_master,
            spark_warehouse_dir=(
                Path(self.spark_warehouse_dir).resolve()
                if self.spark_warehouse_dir
                else env.spark_warehouse_dir
            ),
        )

    @contextmanager
    def get_engine(self) -> Iterator[Engine]:
        settings = self.settings()
        if settings.name == "spark":
            if self._spark is None:
                from engines.spark_engine import SparkEngine

                self._spark = SparkEngine.open(
                    settings.spark_master, settings.spark_warehouse_dir, settings.spark_conf
                )
            yield self._spark
            return
        if settings.name != "duckdb":
            raise dg.Failure(
                f"engine={settings.name!r} is not duckdb or spark", allow_retries=False
            )
        from engines.duckdb_engine import DuckDBEngine

        with self.warehouse.get_connection() as con:
            yield DuckDBEngine(con)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._spark is not None:
            self._spark.close()
            self._spark = None


def engine_table_metadata(engine: Engine, schema: str, table: str) -> dict[str, object]:
    """warehouse.table_metadata for a table in whichever engine holds it."""
    columns = engine.columns(f"{schema}.{table}")
    if not columns:
        return {}
    return described_table(schema, table, columns, engine.row_count(f"{schema}.{table}"))
