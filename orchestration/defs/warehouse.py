"""Small read helpers over the warehouse that several assets share."""

from __future__ import annotations

import errno
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml.model_store import ModelStore
from orchestration.defs.column_descriptions import column_descriptions

# Failures no retry can fix: a damaged or foreign warehouse file, a full or read-only disk. They
# fail the step at once with the cause and the path instead of minutes of retries.
_BROKEN_FILE_MESSAGES = (
    "not a valid DuckDB database file",
    "Could not read enough bytes from file",
    "Corrupt database file",
    "database file is corrupted",
    "Checksum mismatch",
    "checksum mismatch",
)
_FULL_DISK_ERRNOS = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded"}
_READ_ONLY_ERRNOS = {errno.EROFS: "Read-only file system", errno.EACCES: "Permission denied"}


def infrastructure_failure(exc: BaseException, path: str | Path) -> dg.Failure | None:
    """A non-retryable dg.Failure naming the cause and the file when `exc` (or what caused it)
    is a damaged warehouse file or a full / read-only disk; None for anything else."""
    cause = classify_infrastructure_error(exc, path)
    if cause is None:
        return None
    return dg.Failure(description=cause, allow_retries=False)


def classify_infrastructure_error(exc: BaseException | str, path: str | Path) -> str | None:
    """The message for a permanent infrastructure error (see `infrastructure_failure`)."""
    for error in _chain(exc):
        text = str(error)
        code = getattr(error, "errno", None)
        filename = getattr(error, "filename", None) or path
        for errnum, name in (*_FULL_DISK_ERRNOS.items(), *_READ_ONLY_ERRNOS.items()):
            if code == errnum or name in text:
                detail = text.strip().splitlines()[0] if text.strip() else name
                where = "" if str(filename) in detail else f" ({filename})"
                return (
                    f"{name}: {detail}{where}. Free space or fix the permissions there, then run "
                    "again (not retried: it would fail the same way)"
                )
        if any(message in text for message in _BROKEN_FILE_MESSAGES):
            first_line = text.strip().splitlines()[0] if text.strip() else text
            return (
                f"The warehouse file {path} is damaged or not a DuckDB database ({first_line}). "
                "Restore it from a backup, or move it away to rebuild it from the landing files "
                "(history tables and past model runs start over); not retried"
            )
    return None


def _chain(exc: BaseException | str) -> list[BaseException | str]:
    seen: list[BaseException | str] = []
    current: BaseException | str | None = exc
    while current is not None and all(current is not other for other in seen):
        seen.append(current)
        if isinstance(current, str):
            break
        current = current.__cause__ or current.__context__
    return seen


def ensure_parent(database: str) -> None:
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    descriptions: dict[str, str] | None = None,
) -> dict[str, object]:
    """Row count and column schema (types, descriptions) of a warehouse table, as Dagster
    metadata. Without `descriptions`, those of column_descriptions.py (raw and ml tables)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        return {}
    row_count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    return described_table(schema, table, columns, row_count, descriptions)


def described_table(
    schema: str,
    table: str,
    columns: list[tuple[str, str]],
    row_count: int,
    descriptions: dict[str, str] | None = None,
) -> dict[str, object]:
    """table_metadata's Dagster metadata from a table's (column, type) list and row count,
    whichever engine holds the table."""
    descriptions = descriptions or column_descriptions(schema, table, [c for c, _ in columns])
    return {
        "dagster/row_count": dg.MetadataValue.int(row_count),
        "dagster/table_name": dg.MetadataValue.text(f"{schema}.{table}"),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(
                columns=[
                    dg.TableColumn(name=name, type=dtype, description=descriptions.get(name))
                    for name, dtype in columns
                ]
            )
        ),
    }


def write_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    types: dict[str, str] | None = None,
) -> None:
    """Create or replace `schema.table` with the frame's rows. With `types` (column -> SQL
    type) the table has exactly those columns, typed even when the frame is empty."""
    schema = table.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.register("_frame_to_write", _text_when_all_null(frame))
    try:
        con.execute(
            f"create or replace table {table} as select {_columns(types)} from _frame_to_write"
        )
    finally:
        con.unregister("_frame_to_write")


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    key: str,
    value: object,
    types: dict[str, str] | None = None,
) -> None:
    """Replace the rows of `table` whose `key` equals `value` with the frame (idempotent
    history: re-running an as-of date replaces that date's rows). Creates the table if needed;
    `types` as in `write_table`."""
    schema = table.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.register("_frame_to_write", _text_when_all_null(frame))
    columns = _columns(types)
    try:
        con.execute("begin transaction")
        con.execute(
            f"create table if not exists {table} as select {columns} from _frame_to_write limit 0"
        )
        _add_new_columns(con, table, columns)
        con.execute(f"delete from {table} where {key} = ?", [value])
        con.execute(f"insert into {table} by name select {columns} from _frame_to_write")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_frame_to_write")


def _text_when_all_null(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding only nulls (e.g. driver_3 when no customer has a third driver)
    as text: DuckDB would type them NULL, which breaks the BI contract and later inserts."""
    empty = [c for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()]
    return frame.astype(dict.fromkeys(empty, "string")) if empty else frame


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> None:
    """A history table written by an older version gains the columns a newer one adds (older
    rows read NULL there), instead of the insert failing after an upgrade."""
    schema, name = table.split(".")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    described = con.execute(f"describe select {columns} from _frame_to_write").fetchall()
    for column, sql_type, *_ in described:
        if column not in existing:
            con.execute(f'alter table {table} add column "{column}" {sql_type}')


def _columns(types: dict[str, str] | None) -> str:
    if not types:
        return "*"
    return ", ".join(
        f'cast("{name}" as {sql_type}) as "{name}"' for name, sql_type in types.items()
    )


def markdown_table(frame: pd.DataFrame, float_format: str = "{:,.3f}", max_rows: int = 30) -> str:
    """A markdown table for asset metadata (Dagster renders it)."""
    shown = frame.head(max_rows)
    header = "| " + " | ".join(str(c) for c in shown.columns) + " |"
    rule = "| " + " | ".join("---" for _ in shown.columns) + " |"
    lines = [header, rule]
    for _, row in shown.iterrows():
        cells = [
            float_format.format(v) if isinstance(v, float) else str(v).replace("|", "/")
            for v in row.tolist()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(frame) > max_rows:
        lines.append(f"\n_{len(frame) - max_rows} more rows in the table_")
    return "\n".join(lines)


def write_model_tables(
    warehouse: DuckDBResource, tables: dict[str, pd.DataFrame], version: str
) -> None:
    with warehouse.get_connection() as con:
        for table, frame in tables.items():
            replace_rows(con, table, frame, "model_version", version)


def restore_model_tables(
    warehouse: DuckDBResource, store: ModelStore, kind: str, version: str
) -> list[str]:
    """Put back the tables of the model in use when the warehouse lacks them (it was rebuilt
    from scratch while the model store was kept). Returns the tables restored."""
    tables = store.load_tables(kind, version)
    missing = {}
    with warehouse.get_connection() as con:
        for table, frame in tables.items():
            schema, name = table.split(".")
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()[0][0]
            has_version = (
                exists
                and con.execute(
                    f"select count(*) from {table} where model_version = ?", [version]
                ).fetchall()[0][0]
            )
            if not has_version:
                missing[table] = frame
    if missing:
        write_model_tables(warehouse, missing, version)
    return sorted(missing)
