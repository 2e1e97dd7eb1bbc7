"""The DuckDB engine: the warehouse file (or an in-memory database) in this process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from ingest.landing import LoadReport, Suppression
    from ingest.mapping import LandingMapping

from engines.base import (
    EngineError,
    PartitionFunction,
    WriteMode,
    check_schema,
    conform,
    sample_sql,
)

_DUCKDB_TYPES = {
    "string": "varchar",
    "bigint": "bigint",
    "double": "double",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "date": "date",
}


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, owns_connection: bool = False) -> None:
        self.con = con
        self._owns = owns_connection

    @classmethod
    def open(cls, path: str = ":memory:") -> DuckDBEngine:
        return cls(duckdb.connect(str(path)), owns_connection=True)

    def read_table(
        self, table: str, columns: Sequence[str] | None = None, where: str | None = None
    ) -> pd.DataFrame:
        selected = ", ".join(columns) if columns else "*"
        query = f"select {selected} from {table}" + (f" where {where}" if where else "")
        return self.con.execute(query).df()

    def write_table(self, frame: pd.DataFrame, table: str, mode: WriteMode = "replace") -> None:
        schema = table.split(".")[0] if "." in table else None
        if schema:
            self.con.execute(f"create schema if not exists {schema}")
        self.con.register("_engine_frame", frame)
        try:
            if mode == "append" and self.table_exists(table):
                self.con.execute(f"insert into {table} by name select * from _engine_frame")
            elif mode in ("append", "replace"):
                self.con.execute(f"create or replace table {table} as select * from _engine_frame")
            else:
                raise EngineError(f"{table}: write mode {mode!r} is not 'replace' or 'append'")
        finally:
            self.con.unregister("_engine_frame")

    def sql(self, query: str) -> pd.DataFrame:
        return self.con.execute(query).df()

    def execute(self, statement: str) -> None:
        self.con.execute(statement)

    def table_exists(self, table: str) -> bool:
        schema, name = table.split(".") if "." in table else ("main", table)
        return bool(
            self.con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()[0][0]
        )

    def sample(
        self,
        table: str,
        key: str,
        seed: int,
        max_rows: int,
        partition_by: Sequence[str] = (),
        where: str | None = None,
    ) -> pd.DataFrame:
        query = sample_sql(table, key, seed, max_rows, partition_by, where)
        return self.sql(query).drop(columns="_draw_rank").reset_index(drop=True)

    def map_partitions(
        self,
        source: str,
        target: str,
        function: PartitionFunction,
        schema: dict[str, str],
        columns: Sequence[str] | None = None,
        batch_rows: int = 50_000,
    ) -> int:
        """Arrow record batches of `batch_rows` rows, one at a time: memory stays at one batch
        in and one batch out, whatever the table's size."""
        check_schema(schema)
        ddl = ", ".join(f'"{c}" {_DUCKDB_TYPES[t]}' for c, t in schema.items())
        if "." in target:
            self.con.execute(f"create schema if not exists {target.split('.')[0]}")
        self.con.execute(f"create or replace table {target} ({ddl})")
        selected = ", ".join(columns) if columns else "*"
        # A second cursor reads while this one writes: one result stays open across inserts.
        reader = self.con.cursor()
        written = 0
        try:
            batches = reader.sql(f"select {selected} from {source}").to_arrow_reader(batch_rows)
            for batch in batches:
                out = conform(function(batch.to_pandas()), schema, f"{source} -> {target}")
                if out.empty:
                    continue
                self.con.register("_engine_batch", out)
                self.con.execute(f"insert into {target} by name select * from _engine_batch")
                self.con.unregister("_engine_batch")
                written += len(out)
        finally:
            reader.close()
        return written

    def arrow_batches(self, table: str, batch_rows: int = 100_000) -> Iterator[pa.RecordBatch]:
        reader = self.con.cursor()
        try:
            batches = reader.sql(f"select * from {table}").to_arrow_reader(batch_rows)
            empty = True
            for batch in batches:
                empty = False
                yield batch
            if empty:
                yield pa.RecordBatch.from_pylist([], schema=batches.schema)
        finally:
            reader.close()

    def replace_rows(
        self,
        source: str,
        target: str,
        key: str,
        value: object,
        columns: Sequence[str] | None = None,
    ) -> None:
        """One transaction: delete the key's rows, insert the source's (by name)."""
        selected = ", ".join(columns) if columns else "*"
        if "." in target:
            self.con.execute(f"create schema if not exists {target.split('.')[0]}")
        self.con.execute("begin transaction")
        try:
            self.con.execute(
                f"create table if not exists {target} as select {selected} from {source} limit 0"
            )
            present = {c for c, _ in self.columns(target)}
            for column, dtype in self.columns(source):
                if column not in present and (not columns or column in columns):
                    self.con.execute(f'alter table {target} add column "{column}" {dtype}')
            self.con.execute(f"delete from {target} where {key} = ?", [value])
            self.con.execute(f"insert into {target} by name select {selected} from {source}")
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise

    def columns(self, table: str) -> list[tuple[str, str]]:
        schema, name = table.split(".") if "." in table else ("main", table)
        return [
            (column, dtype)
            for column, dtype in self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
        ]

    def row_count(self, table: str) -> int:
        return int(self.con.execute(f"select count(*) from {table}").fetchall()[0][0])

    def load_landing(
        self,
        landing_dir: Path,
        mapping: LandingMapping,
        entity_name: str,
        suppression: Suppression | None = None,
    ) -> LoadReport:
        from ingest.landing import load_entity

        return load_entity(self.con, landing_dir, mapping, entity_name, suppression)

    def close(self) -> None:
        if self._owns:
            self.con.close()
