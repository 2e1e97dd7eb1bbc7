"""The `engine` resource: the refresh's SQL engine (engines/), one per run.

DuckDB: an Engine over the run's warehouse connection (WarehouseResource: same file, same lock).
Spark: one SparkSession, started on first use and stopped when the run ends (the job runs
in-process, so every step of the run shares it). Assets ask for an Engine and never test which
one they got; pyspark is imported by engines/spark_engine.py only.

The dbt steps run dbt through `run_dbt`: on DuckDB dagster-dbt's CLI resource (a subprocess that
opens the warehouse file itself), on Spark dbt-core's dbtRunner in this process, because
dbt-spark's `method: session` joins the SparkSession of the process it runs in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource
from pydantic import Field, PrivateAttr

from engines import DBT_TARGETS, EngineSettings
from engines.base import Engine
from orchestration.defs.dbt_in_process import InProcessDbtInvocation
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.warehouse import described_table
from orchestration.project import dbt_project
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

    def run_dbt(
        self, dbt: DbtCliResource, args: Sequence[str], context: dg.AssetExecutionContext
    ) -> Any:
        """`dbt <args>` for the step's selected models and tests, with the dbt target of this
        run's engine. Returns an invocation with DbtCliInvocation's stream(), is_successful(),
        get_error(), target_path and project_dir; a failed build does not raise here.

        DuckDB: the CLI resource's subprocess, started now and streamed by the caller. Spark:
        dbtRunner in this process, finished on return; the run's session is started first (with
        the engine's master, warehouse folder, metastore and conf), so dbt-spark's
        `SparkSession.builder.getOrCreate()` joins it instead of starting a default one."""
        settings = self.settings()
        target = DBT_TARGETS.get(settings.name)
        if target is None:
            raise dg.Failure(
                f"engine={settings.name!r} is not duckdb or spark", allow_retries=False
            )
        if settings.name == "duckdb":
            return dbt.cli([*args, "--target", target], context=context, raise_on_error=False)
        with self.get_engine():
            return InProcessDbtInvocation.run(
                args, context=context, dbt_project=dbt_project, target=target
            )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._spark is not None:
            self._spark.close()
            self._spark = None


def engine_table_metadata(
    engine: Engine, schema: str, table: str, descriptions: dict[str, str] | None = None
) -> dict[str, object]:
    """warehouse.table_metadata for a table in whichever engine holds it ({} if missing)."""
    columns = engine.columns(f"{schema}.{table}")
    if not columns:
        return {}
    return described_table(
        schema, table, columns, engine.row_count(f"{schema}.{table}"), descriptions
    )
