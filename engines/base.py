"""The engine seam: the few operations where DuckDB and Spark differ, behind one interface.

Assets and ml/ code talk to an `Engine`; they never ask which engine runs. Each engine lives in
its own module (duckdb_engine.py, spark_engine.py) and pyspark is imported only by the Spark one.
Table names are `schema.name`; frames cross the seam as pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest.landing import LoadReport, Suppression
    from ingest.mapping import LandingMapping

WriteMode = Literal["replace", "append"]
# A function mapped over a table's partitions: one pandas batch in, one batch out (any number
# of rows, always the columns of the output schema). It must be picklable (a module-level
# function, or an object such as a fitted model with a __call__).
PartitionFunction = Callable[[pd.DataFrame], pd.DataFrame]

# Output schemas of map_partitions use these portable type names.
PORTABLE_TYPES = ("string", "bigint", "double", "boolean", "timestamp", "date")


class EngineError(RuntimeError):
    """An engine operation failed; the message names the table or setting involved."""


@runtime_checkable
class Engine(Protocol):
    """What the pipeline needs from a SQL engine. One instance per refresh (a Spark session
    takes 20-30 s to start)."""

    name: str

    def read_table(
        self, table: str, columns: Sequence[str] | None = None, where: str | None = None
    ) -> pd.DataFrame:
        """The table (optionally only `columns`, only rows matching the SQL `where`)."""
        ...

    def write_table(self, frame: pd.DataFrame, table: str, mode: WriteMode = "replace") -> None:
        """Replace the table with `frame`, or append `frame` to it (created if missing)."""
        ...

    def sql(self, query: str) -> pd.DataFrame:
        """The result of a query, as pandas (keep it small: it comes to this process)."""
        ...

    def execute(self, statement: str) -> None:
        """Run a statement (DDL, insert ... select, create table as ...) in the engine."""
        ...

    def table_exists(self, table: str) -> bool: ...

    def sample(
        self,
        table: str,
        key: str,
        seed: int,
        max_rows: int,
        partition_by: Sequence[str] = (),
        where: str | None = None,
    ) -> pd.DataFrame:
        """At most `max_rows` rows per `partition_by` group (0: all rows), drawn by the project's
        hash rule (hash_draw_sql), so both engines draw the same rows; ordered by the groups,
        then `key`."""
        ...

    def map_partitions(
        self,
        source: str,
        target: str,
        function: PartitionFunction,
        schema: dict[str, str],
        columns: Sequence[str] | None = None,
        batch_rows: int = 50_000,
    ) -> int:
        """Apply `function` to the source table batch by batch, in the engine's workers (never
        the whole table in this process), writing the results to `target` (replaced) with the
        column -> portable type `schema`. Returns the rows written."""
        ...

    def arrow_batches(self, table: str, batch_rows: int = 100_000) -> Iterator[pa.RecordBatch]:
        """The table as Arrow record batches in this process, at least one (for the schema),
        e.g. to copy it into another database; the caller decides whether it fits."""
        ...

    def replace_rows(
        self,
        source: str,
        target: str,
        key: str,
        value: object,
        columns: Sequence[str] | None = None,
    ) -> None:
        """Replace the target's rows whose `key` equals `value` with the source table's rows
        (optionally only `columns`), inside the engine: an idempotent history such as one
        as-of date per run. Creates the target if missing; new source columns are added."""
        ...

    def columns(self, table: str) -> list[tuple[str, str]]:
        """(column, type) of the table in order, [] if it does not exist."""
        ...

    def row_count(self, table: str) -> int: ...

    def load_landing(
        self,
        landing_dir: Path,
        mapping: LandingMapping,
        entity_name: str,
        suppression: Suppression | None = None,
    ) -> LoadReport:
        """raw.<entity> from the landing files (ingest/landing.py on DuckDB,
        ingest/spark_landing.py on Spark): the same columns, text and line numbers."""
        ...

    def close(self) -> None: ...


def hash_draw_sql(key: str, seed: int) -> str:
    """The training-sample draw: rows ranked by md5 of the key and the seed (same text, same
    digest on every engine, whatever the row order). Lower draws are taken first."""
    return f"md5(cast({key} as string) || ':{int(seed)}')"


def sample_sql(
    table: str,
    key: str,
    seed: int,
    max_rows: int,
    partition_by: Sequence[str] = (),
    where: str | None = None,
) -> str:
    """Portable SQL (DuckDB and Spark) for Engine.sample; the rows carry a `_draw_rank`
    column the engine drops (Spark SQL has no `* except`)."""
    filtered = f"select * from {table}" + (f" where {where}" if where else "")
    order = [*partition_by, key]
    if max_rows <= 0:
        return f"select *, 0 as _draw_rank from ({filtered}) as f order by {', '.join(order)}"
    over = f"partition by {', '.join(partition_by)} " if partition_by else ""
    return f"""
        select * from (
            select *, row_number() over ({over}order by {hash_draw_sql(key, seed)}, {key})
                   as _draw_rank
            from ({filtered}) as filtered
        ) as ranked
        where _draw_rank <= {int(max_rows)}
        order by {", ".join(order)}
    """


def check_schema(schema: dict[str, str]) -> None:
    unknown = {c: t for c, t in schema.items() if t not in PORTABLE_TYPES}
    if unknown:
        raise EngineError(
            f"map_partitions schema has unsupported types {unknown}; use one of {PORTABLE_TYPES}"
        )


def conform(frame: pd.DataFrame, schema: dict[str, str], what: str) -> pd.DataFrame:
    """The function's output with exactly the schema's columns, in order; a missing column
    is an error naming it (a silent null column would hide a bug in the function)."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise EngineError(f"{what}: the mapped function returned no column(s) {missing}")
    return frame[list(schema)]
