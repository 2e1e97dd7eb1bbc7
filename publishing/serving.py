"""Build the serving database for BI tools and swap it in atomically.

DuckDB lets one process write a file or many read it, never both. BI tools therefore never read
the warehouse: they read this separate file, which the pipeline never opens for writing. A new
version is built under a temporary name next to it (from the warehouse's `analytics` tables),
checkpointed and closed, then renamed over the old one in a single `os.replace`. A reader that
had the old file open keeps reading its snapshot; new connections see the new file; a refresh
that fails or is killed before the rename leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from publishing.failpoints import failpoint

SCHEMA = "analytics"
LOG_TABLE = "publish_log"
LOG_COLUMN_COMMENTS = {
    "publish_id": "Id of the publish (also in the temporary file name while it was built).",
    "as_of_date": "As-of date of the published data (features use data strictly before it).",
    "published_at": "When the file was swapped in (UTC).",
    "segment_model_version": "Segmentation model that assigned the segments.",
    "churn_model_version": "Churn/value model that produced the scores.",
    "customers": "Rows of analytics.customer_360 (one per customer).",
    "row_counts": "JSON object: table -> rows, for every published table.",
    "source_fingerprint": "SHA-256 over the names and bytes of the landing files it was built "
    "from: equal fingerprints mean the same input.",
    "gate_metrics": "JSON object: metric -> value (customers, buyers, orders, revenue in the "
    "last 30 days, scored share, segments, staged rows per entity) that the publish gate "
    "compares the next refresh with.",
}


@dataclass(frozen=True)
class PublishRecord:
    as_of_date: str
    segment_model_version: str | None
    churn_model_version: str | None
    source_fingerprint: str
    # What the publish gate compares the next refresh with (publishing/gate.py).
    gate_metrics: dict[str, float] | None = None


@dataclass
class PublishResult:
    path: Path
    publish_id: str
    row_counts: dict[str, int]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def remove_stale_builds(serving_path: Path) -> list[Path]:
    """Temporary files of builds that were killed before their rename."""
    stale = list(serving_path.parent.glob(f".{serving_path.name}.*.tmp*"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def publish_serving_database(
    warehouse: duckdb.DuckDBPyConnection,
    serving_path: Path,
    tables: list[str],
    record: PublishRecord,
    comments: dict[str, tuple[str, dict[str, str]]] | None = None,
    read_batches: Callable[[str], Iterable[pa.RecordBatch]] | None = None,
) -> PublishResult:
    """Copy `analytics.<table>` for each table from the warehouse into a new serving file, add
    the publish log (previous entries + this one) and swap the file in.

    comments: table -> (table description, {column: description}), written as COMMENT ON so
    DBeaver, Metabase and the duckdb CLI show them.

    read_batches: where the tables come from when they are not in `warehouse` ("analytics.x"
    -> Arrow record batches, e.g. Engine.arrow_batches); `warehouse` then only builds the file.
    """
    serving_path = Path(serving_path)
    try:
        serving_path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_builds(serving_path)
    except OSError as exc:
        raise PublishError(f"cannot write next to {serving_path}: {exc.strerror or exc}") from exc
    publish_id = uuid.uuid4().hex[:12]
    temp = serving_path.with_name(f".{serving_path.name}.{publish_id}.tmp")
    build = "serving_build"
    try:
        warehouse.execute(f"attach {_quote(str(temp))} as {build}")
    except duckdb.Error as exc:
        raise PublishError(
            f"cannot create the serving database next to {serving_path}: {str(exc).splitlines()[0]}"
        ) from exc
    try:
        warehouse.execute(f"create schema {build}.{SCHEMA}")
        counts = {}
        for table in tables:
            if read_batches is None:
                warehouse.execute(
                    f"create table {build}.{SCHEMA}.{table} as select * from {SCHEMA}.{table}"
                )
            else:
                _copy_batches(
                    warehouse, f"{build}.{SCHEMA}.{table}", read_batches(f"{SCHEMA}.{table}")
                )
            # fetchall completes the result (a registered batch needs a connection without one).
            counts[table] = warehouse.execute(
                f"select count(*) from {build}.{SCHEMA}.{table}"
            ).fetchall()[0][0]
        failpoint("publish:tables_copied")
        _write_log(warehouse, build, serving_path, publish_id, record, counts)
        for table, (description, columns) in (comments or {}).items():
            if table not in counts:
                continue
            warehouse.execute(f"comment on table {build}.{SCHEMA}.{table} is {_quote(description)}")
            for column, text in columns.items():
                warehouse.execute(
                    f"comment on column {build}.{SCHEMA}.{table}.{column} is {_quote(text)}"
                )
        warehouse.execute(f"checkpoint {build}")
    except (duckdb.IOException, OSError) as exc:  # disk full, quota, I/O error while writing
        _discard(warehouse, build, temp)
        raise PublishError(f"cannot write {temp}: {str(exc).splitlines()[0]}") from exc
    except BaseException:
        _discard(warehouse, build, temp)
        raise
    finally:
        with contextlib.suppress(duckdb.Error):
            warehouse.execute(f"detach database if exists {build}")
    if temp.with_name(temp.name + ".wal").exists():
        _discard(warehouse, build, temp)
        raise RuntimeError(f"{temp} still has a write-ahead log after checkpoint; not publishing")
    failpoint("publish:before_swap")
    try:
        os.replace(temp, serving_path)
    except OSError as exc:
        _discard(warehouse, build, temp)
        raise PublishError(f"cannot replace {serving_path}: {exc.strerror or exc}") from exc
    fsync_dir(serving_path.parent)
    return PublishResult(serving_path, publish_id, counts)


def _copy_batches(
    con: duckdb.DuckDBPyConnection, target: str, batches: Iterable[pa.RecordBatch]
) -> None:
    """A table from Arrow record batches (the first one creates it with their schema)."""
    created = False
    for batch in batches:
        con.register("_serving_batch", pa.Table.from_batches([batch]))
        try:
            if created:
                con.execute(f"insert into {target} select * from _serving_batch")
            else:
                con.execute(f"create table {target} as select * from _serving_batch")
                created = True
        finally:
            con.unregister("_serving_batch")
    if not created:
        raise PublishError(f"{target}: the source returned no batch (not even an empty one)")


def _discard(warehouse: duckdb.DuckDBPyConnection, build: str, temp: Path) -> None:
    """Drop a failed build: detach it, delete its file and write-ahead log."""
    with contextlib.suppress(duckdb.Error):  # a broken connection: still remove the files
        warehouse.execute(f"detach database if exists {build}")
    for leftover in (temp, temp.with_name(temp.name + ".wal")):
        leftover.unlink(missing_ok=True)


class PublishError(RuntimeError):
    """The serving database or an export could not be written; the message says where and why."""


def _write_log(
    warehouse: duckdb.DuckDBPyConnection,
    build: str,
    serving_path: Path,
    publish_id: str,
    record: PublishRecord,
    counts: dict[str, int],
) -> None:
    """The log is carried over from the file being replaced, so it lists exactly the publishes
    that were swapped in."""
    warehouse.execute(
        f"""
        create table {build}.{SCHEMA}.{LOG_TABLE} (
            publish_id varchar, as_of_date date, published_at timestamp,
            segment_model_version varchar, churn_model_version varchar,
            customers bigint, row_counts varchar, source_fingerprint varchar,
            gate_metrics varchar
        )
        """
    )
    warehouse.execute(
        f"comment on table {build}.{SCHEMA}.{LOG_TABLE} is "
        "'One row per publish of this database: as-of date, time, model versions, row counts, "
        "a SHA-256 fingerprint of the landing files it was built from and the metrics the "
        "publish gate compares the next refresh with.'"
    )
    for column, text in LOG_COLUMN_COMMENTS.items():
        warehouse.execute(
            f"comment on column {build}.{SCHEMA}.{LOG_TABLE}.{column} is {_quote(text)}"
        )
    if serving_path.exists():
        warehouse.execute(f"attach {_quote(str(serving_path))} as previous_serving (read_only)")
        try:
            has_log = warehouse.execute(
                "select count(*) from duckdb_tables() where database_name = 'previous_serving' "
                f"and schema_name = '{SCHEMA}' and table_name = '{LOG_TABLE}'"
            ).fetchone()[0]
            if has_log:
                warehouse.execute(
                    f"insert into {build}.{SCHEMA}.{LOG_TABLE} by name "
                    f"select * from previous_serving.{SCHEMA}.{LOG_TABLE}"
                )
        finally:
            warehouse.execute("detach previous_serving")
    warehouse.execute(
        f"insert into {build}.{SCHEMA}.{LOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            publish_id,
            record.as_of_date,
            datetime.now(UTC).replace(tzinfo=None),
            record.segment_model_version,
            record.churn_model_version,
            counts.get("customer_360", 0),
            json.dumps(counts, sort_keys=True),
            record.source_fingerprint,
            json.dumps(record.gate_metrics, sort_keys=True) if record.gate_metrics else None,
        ],
    )


def fsync_dir(folder: Path) -> None:
    """Make the rename durable (the directory entry is what changed)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
