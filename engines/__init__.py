"""Where the SQL work of a refresh runs: DuckDB (default) or Spark, behind one interface.

`open_engine` starts the configured engine; callers use only the `Engine` protocol
(engines/base.py). pyspark is imported only when the Spark engine is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engines.base import Engine, EngineError, hash_draw_sql, sample_sql

ENGINES = ("duckdb", "spark")
# The output of dbt_project/profiles.yml each engine's dbt steps build with: the target follows
# the engine, so there is no second setting to keep in sync.
DBT_TARGETS = {"duckdb": "dev", "spark": "spark"}

__all__ = [
    "DBT_TARGETS",
    "ENGINES",
    "Engine",
    "EngineError",
    "EngineSettings",
    "hash_draw_sql",
    "open_engine",
    "sample_sql",
]


@dataclass(frozen=True)
class EngineSettings:
    name: str = "duckdb"
    # DuckDB: the warehouse file. Spark: the folder of its managed tables (metastore beside it).
    duckdb_path: Path = Path(":memory:")
    spark_master: str = "local[2]"
    spark_warehouse_dir: Path = Path("spark-warehouse")
    spark_conf: dict[str, str] = field(default_factory=dict)


@contextmanager
def open_engine(settings: EngineSettings) -> Iterator[Engine]:
    """The engine for one refresh, closed (Spark session stopped) on exit."""
    if settings.name == "duckdb":
        from engines.duckdb_engine import DuckDBEngine

        engine: Engine = DuckDBEngine.open(str(settings.duckdb_path))
    elif settings.name == "spark":
        from engines.spark_engine import SparkEngine

        engine = SparkEngine.open(
            settings.spark_master, settings.spark_warehouse_dir, settings.spark_conf
        )
    else:
        raise EngineError(f"INSIGHTS_ENGINE={settings.name!r} is not one of {ENGINES}")
    try:
        yield engine
    finally:
        engine.close()
