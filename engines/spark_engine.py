"""The Spark engine: a SparkSession (local[2] by default), tables in its catalog.

pyspark is imported here and nowhere else in the pipeline. Hive support keeps the tables in a
warehouse folder with a Derby metastore beside it, so the dbt project (dbt-spark, session mode)
and the Python steps of one refresh see the same `raw.*`, `marts.*` and `ml.*` tables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from engines.base import (
    EngineError,
    PartitionFunction,
    WriteMode,
    check_schema,
    conform,
    sample_sql,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ingest.landing import LoadReport, Suppression
    from ingest.mapping import LandingMapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build_session(
    master: str = "local[2]",
    warehouse_dir: Path | str = "spark-warehouse",
    extra_conf: dict[str, str] | None = None,
    shuffle_partitions: int = 8,
) -> SparkSession:
    """A SparkSession for one refresh (or one test session): no UI, UTC timestamps (the same
    wall-clock text as DuckDB), Arrow transfers, the metastore beside the warehouse folder."""
    from pyspark.sql import SparkSession

    warehouse = Path(warehouse_dir).resolve()
    warehouse.mkdir(parents=True, exist_ok=True)
    metastore = warehouse.parent / f"{warehouse.name}-metastore"
    # Python workers must run this interpreter and import this project (engines/, ml/).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(PROJECT_ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, paths)])
    builder = (
        SparkSession.builder.master(master)
        .appName("customer-insights")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # The dbt profile's semantics (profiles.yml `spark`: unreadable values and division by
        # zero give null), for the whole run: dbt-spark sets it on this session when its step
        # starts, so without it the steps before dbt would run with Spark 4's ANSI default.
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={metastore}")
    )
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()


class SparkEngine:
    name = "spark"

    def __init__(self, spark: SparkSession, owns_session: bool = False) -> None:
        self.spark = spark
        self._owns = owns_session

    @classmethod
    def open(
        cls,
        master: str = "local[2]",
        warehouse_dir: Path | str = "spark-warehouse",
        extra_conf: dict[str, str] | None = None,
    ) -> SparkEngine:
        from pyspark.sql import SparkSession

        # A session already running in this process (dbt-spark's session mode, a notebook, a
        # test's) is shared, and left running at close; the settings it started with stay.
        running = SparkSession.getActiveSession()
        if running is not None:
            return cls(running, owns_session=False)
        return cls(build_session(master, warehouse_dir, extra_conf), owns_session=True)

    def frame(
        self, table: str, columns: Sequence[str] | None = None, where: str | None = None
    ) -> DataFrame:
        """The table as a Spark DataFrame (for Spark-only code such as the landing loader)."""
        df = self.spark.table(table)
        if where:
            df = df.where(where)
        return df.select(*columns) if columns else df

    def read_table(
        self, table: str, columns: Sequence[str] | None = None, where: str | None = None
    ) -> pd.DataFrame:
        return self.frame(table, columns, where).toPandas()

    def write_table(self, frame: pd.DataFrame, table: str, mode: WriteMode = "replace") -> None:
        if mode not in ("replace", "append"):
            raise EngineError(f"{table}: write mode {mode!r} is not 'replace' or 'append'")
        self._create_schema(table)
        df = self.spark.createDataFrame(frame)
        df.write.mode("overwrite" if mode == "replace" else "append").saveAsTable(table)

    def sql(self, query: str) -> pd.DataFrame:
        return self.spark.sql(query).toPandas()

    def execute(self, statement: str) -> None:
        self.spark.sql(statement)

    def table_exists(self, table: str) -> bool:
        return bool(self.spark.catalog.tableExists(table))

    def sample(
        self,
        table: str,
        key: str,
        seed: int,
        max_rows: int,
        partition_by: Sequence[str] = (),
        where: str | None = None,
    ) -> pd.DataFrame:
        """Ranked and cut in Spark; only the drawn rows come to the driver."""
        query = sample_sql(table, key, seed, max_rows, partition_by, where)
        return self.spark.sql(query).drop("_draw_rank").toPandas()

    def map_partitions(
        self,
        source: str,
        target: str,
        function: PartitionFunction,
        schema: dict[str, str],
        columns: Sequence[str] | None = None,
        batch_rows: int = 50_000,
    ) -> int:
        """mapInPandas over Arrow batches of at most `batch_rows` rows; the function (a fitted
        model) is broadcast once per executor, not pickled into every task."""
        check_schema(schema)
        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
        from pyspark import cloudpickle  # lambdas and closures too, unlike pickle

        shared = self.spark.sparkContext.broadcast(cloudpickle.dumps(function))
        what = f"{source} -> {target}"
        output_schema = ", ".join(f"`{c}` {t}" for c, t in schema.items())

        def apply(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            from pyspark import cloudpickle

            mapped = cloudpickle.loads(shared.value)
            for batch in batches:
                yield conform(mapped(batch), schema, what)

        self._create_schema(target)
        try:
            result = self.frame(source, columns).mapInPandas(apply, output_schema)
            result.write.mode("overwrite").saveAsTable(target)
        except Exception as exc:
            # A worker's EngineError arrives wrapped in Spark's PythonException: surface it.
            raised = _worker_engine_error(exc)
            if raised is None:
                raise
            raise EngineError(raised) from exc
        finally:
            shared.destroy()
        return self.spark.table(target).count()

    def arrow_batches(self, table: str, batch_rows: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Collected to the driver through Arrow (DataFrame.toArrow), then split."""
        collected = self.spark.table(table).toArrow()
        batches = collected.to_batches(max_chunksize=batch_rows)
        yield from batches or [pa.RecordBatch.from_pylist([], schema=collected.schema)]

    def replace_rows(
        self,
        source: str,
        target: str,
        key: str,
        value: object,
        columns: Sequence[str] | None = None,
    ) -> None:
        """The kept rows and the source's written to a staging table that then takes the
        target's name (Spark cannot overwrite a table it is reading)."""
        from pyspark.sql import functions as F

        self._create_schema(target)
        new_rows = self.frame(source, columns)
        if not self.table_exists(target):
            new_rows.write.saveAsTable(target)
            return
        kept = self.spark.table(target).where(~F.col(key).eqNullSafe(F.lit(value)))
        combined = kept.unionByName(new_rows, allowMissingColumns=True)
        staging = f"{target}__replacing"
        self.spark.sql(f"drop table if exists {staging}")
        combined.write.saveAsTable(staging)
        self.spark.sql(f"drop table {target}")
        self.spark.sql(f"alter table {staging} rename to {target}")

    def columns(self, table: str) -> list[tuple[str, str]]:
        if not self.table_exists(table):
            return []
        return [(f.name, f.dataType.simpleString()) for f in self.spark.table(table).schema]

    def row_count(self, table: str) -> int:
        return int(self.spark.table(table).count())

    def load_landing(
        self,
        landing_dir: Path,
        mapping: LandingMapping,
        entity_name: str,
        suppression: Suppression | None = None,
    ) -> LoadReport:
        from ingest.spark_landing import load_entity_spark

        return load_entity_spark(self.spark, landing_dir, mapping, entity_name, suppression)

    def close(self) -> None:
        if self._owns:
            self.spark.stop()

    def _create_schema(self, table: str) -> None:
        if "." in table:
            self.spark.sql(f"create database if not exists {table.split('.')[0]}")


def _worker_engine_error(exc: Exception) -> str | None:
    """The message of an EngineError raised in a Python worker, if that is what failed."""
    marker = "EngineError: "
    for line in str(exc).splitlines():
        if marker in line:
            return line.split(marker, 1)[1].strip()
    return None
