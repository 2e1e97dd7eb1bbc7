"""Load landing files (CSV or Parquet) into the warehouse's ``raw`` schema.

The raw tables hold the landing rows reshaped onto the contract: contract column names, the
user's date format turned into ISO text, ``,`` decimals turned into ``.``, the user's status
values turned into contract statuses. Nothing is typed or filtered here: a value the mapping
cannot translate stays as it was, so dbt staging can quarantine the row with its original text.

Rows the CSV parser cannot read at all (ragged rows, bad encoding) go to ``raw.<entity>_rejects``
with their line number and text, so ``rows read = rows loaded + rows rejected`` for every file.

Layouts DuckDB's CSV reader cannot split (runs of whitespace, multi-character delimiters,
fixed-width fields) are read line by line and split in SQL; a line with the wrong number of
fields goes to the rejects table the same way. With ``merge_same_time_rows``, orders rows of one
customer at one time become one order; the merged-away rows are counted (``rows_merged``), so
``rows read = loaded + rejected + suppressed + merged`` still holds.
"""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ingest.contract import ENTITIES, Entity
from ingest.identifiers import normalise_id_sql, register_id_functions

# Scalars are read with fetchall(): DuckDB 2.0 keeps a fetchone() result open, and an open
# result blocks the next register() on the connection.
from ingest.mapping import MAPPING_FILE_NAME, WHITESPACE, EntityMapping, LandingMapping
from ingest.sniff import describe_delimiter, read_head, sniff_delimiter, split_line
from privacy.redaction import redact_quoted
from publishing.failpoints import failpoint

RAW_SCHEMA = "raw"
# Columns the loader adds to every raw table.
LINEAGE_COLUMNS = ("_source_file", "_source_row")
AMOUNT_COLUMNS = ("amount", "unit_price", "quantity")


class LandingError(ValueError):
    """A landing file cannot be used at all; the message names the file and what to fix."""


@dataclass
class LoadReport:
    entity: str
    files: list[str] = field(default_factory=list)
    file_format: str | None = None
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_suppressed: int = 0  # rows of erased customers, dropped on purpose
    rows_merged: int = 0  # orders rows folded into another row at the same time
    missing_optional_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    derived_order_id: bool = False
    # full: every file reloaded; append: only files not loaded before; unchanged: nothing new.
    mode: str = "full"
    files_read: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.rows_loaded + self.rows_rejected + self.rows_suppressed + self.rows_merged

    @property
    def present(self) -> bool:
        return bool(self.files)


@dataclass(frozen=True)
class Suppression:
    """Erased customers as salted hashes (see privacy/suppression.py); rows that hash into
    `customer_hashes` are never loaded. Ids are compared in their normalised form under each
    scheme in `id_schemes` (ingest/identifiers.py), so `c1`, ` C1 ` and `C1` + zero-width space
    are the erased `C1`. Customer rows whose e-mail hashes into `email_keys` are dropped too
    (the same person under a new id). Orders of erased customers are remembered as hashes in
    raw.suppressed_orders so their order lines can be dropped too."""

    salt_hex: str
    customer_hashes: frozenset[str]
    id_schemes: tuple[str, ...] = ("id_nfkc_casefold",)
    email_keys: frozenset[str] = frozenset()

    def hash_sql(self, column: str, scheme: str | None = None) -> str:
        """The salted hash of the id in `column` under `scheme` (default: the first one)."""
        normalised = normalise_id_sql(column, scheme or self.id_schemes[0])
        return f"sha256('{self.salt_hex}' || {normalised})"

    def erased_id_sql(self, column: str) -> str:
        """True when the id in `column` is an erased customer's under any stored scheme."""
        return " or ".join(
            f"{self.hash_sql(column, scheme)} in (select customer_hash from _suppressed_customers)"
            for scheme in self.id_schemes
        )

    def order_hash_sql(self, column: str) -> str:
        # Order ids join exactly (trimmed) in staging, so they are matched the same way.
        return f"sha256('{self.salt_hex}' || trim(cast({column} as varchar)))"

    def email_key_sql(self, column: str) -> str:
        """Salted hash of the export's email_sha256 (SHA-256 of the trimmed, lower-cased
        address), so the key can be computed from an export file as well."""
        return f"sha256('{self.salt_hex}' || sha256(lower(trim(cast({column} as varchar)))))"

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """The hash lists and the id normalisation functions, for the SQL above."""
        register_id_functions(con)
        con.register(
            "_suppressed_customers",
            pd.DataFrame({"customer_hash": sorted(self.customer_hashes)}, dtype="string"),
        )
        con.register(
            "_suppressed_emails",
            pd.DataFrame({"email_key": sorted(self.email_keys)}, dtype="string"),
        )

    @property
    def empty(self) -> bool:
        return not self.customer_hashes and not self.email_keys


SUPPRESSED_ORDERS = f"{RAW_SCHEMA}.suppressed_orders"
# E-mail keys (Suppression.email_key_sql) of the customer rows the last customers load dropped:
# the pipeline adds them to the suppression list, so the person stays out under a new id.
SUPPRESSED_EMAILS = f"{RAW_SCHEMA}.suppressed_emails"


def resolve_files(landing_dir: Path, mapping: EntityMapping) -> list[Path]:
    """The entity's files: the mapping's names/globs, else the contract's default names.

    Confined to the landing folder: a pattern may not be absolute or climb out with `..`, and
    every match (symlinks resolved) must lie inside the folder, so mapping.yaml cannot make the
    pipeline read other files on the host."""
    key = f"{mapping.entity.name}.files"
    patterns = mapping.files or mapping.default_patterns()
    for pattern in patterns:
        if Path(pattern).is_absolute() or pattern.startswith("~") or ".." in Path(pattern).parts:
            raise LandingError(
                f"{mapping.entity.name}: `{key}` in {MAPPING_FILE_NAME} must name files inside "
                f"the landing folder {landing_dir} (a relative name or glob, no `..`, not an "
                f"absolute path); got {pattern!r}"
            )
    root = Path(landing_dir).resolve()
    found: set[Path] = set()
    for pattern in patterns:
        for match in glob.glob(str(landing_dir / pattern)):
            path = Path(match)
            if not path.is_file() or path.name == MAPPING_FILE_NAME:
                continue
            resolved = path.resolve()
            if not resolved.is_relative_to(root):
                raise LandingError(
                    f"{mapping.entity.name}: {path.name} (matched by `{key}`) is a link to a "
                    f"file outside the landing folder {landing_dir}; copy the file into the "
                    "folder instead"
                )
            found.add(resolved)
    if mapping.files and not found:
        raise LandingError(
            f"{mapping.entity.name}: mapping.yaml names {list(mapping.files)} under {landing_dir} "
            f"but no such file exists (key `{key}`)"
        )
    return sorted(found)


def detect_format(files: list[Path], mapping: EntityMapping) -> str:
    if mapping.format:
        return mapping.format
    formats = {"parquet" if f.suffix.lower() == ".parquet" else "csv" for f in files}
    if len(formats) > 1:
        raise LandingError(
            f"{mapping.entity.name}: files mix CSV and Parquet ({[f.name for f in files]}); "
            f"keep one format per entity or set `{mapping.entity.name}.files` in mapping.yaml"
        )
    return formats.pop()


def load_entity(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    mapping: LandingMapping,
    entity_name: str,
    suppression: Suppression | None = None,
    incremental: bool = True,
) -> LoadReport:
    """Bring ``raw.<entity>`` and ``raw.<entity>_rejects`` up to date with the landing files.

    When every file loaded before is still there unchanged (same size and modification time)
    and the mapping and suppression list are the same, only new files are read and appended
    (a daily drop costs a day of data, not the history); otherwise everything is reloaded.
    Each load stamps its rows with a new `_batch` number, which incremental dbt models follow.

    With a suppression list, rows of erased customers are dropped (and counted); for
    order_items that needs raw.suppressed_orders, which loading orders writes."""
    entity = ENTITIES[entity_name]
    entity_mapping = mapping[entity_name]
    report = LoadReport(entity=entity_name)
    landing_dir = Path(landing_dir)
    files = resolve_files(landing_dir, entity_mapping)
    con.execute(f"create schema if not exists {RAW_SCHEMA}")

    if not files:
        if entity.required:
            raise no_file_error(entity_mapping, landing_dir)
        create_empty_raw(con, entity)
        report.notes.append(f"no {entity_name} file in {landing_dir}: table left empty")
        _write_load_log(con, entity, report)
        return report

    report.files = [str(f) for f in files]
    report.file_format = detect_format(files, entity_mapping)
    load_key = _load_key(entity_mapping, suppression)
    unrecorded = _unrecorded_rows(con, entity)
    if unrecorded:
        # Rows whose load was never recorded (a load interrupted by an older version, or the
        # table edited by hand): which files they came from is unknown, so reload everything.
        report.notes.append(
            f"repaired: {unrecorded} row(s) of a load with no file record were removed and "
            "every file reloaded"
        )
        incremental = False
    new_files = _new_files_only(con, entity, files, load_key) if incremental else None
    if new_files is not None and not new_files:
        report.mode = "unchanged"
        _carry_over_counts(con, entity, report)
        _write_load_log(con, entity, report)  # the log says what this run did
        return report
    if new_files is not None:
        report.mode = "append"
    to_read = new_files if new_files is not None else files
    report.files_read = len(to_read)
    # The rows, their file records and the load log commit together: a load killed half-way
    # leaves the tables as they were, never rows that the next run would append again.
    con.execute("begin transaction")
    try:
        _load_files(con, entity, entity_mapping, to_read, files, load_key, suppression, report)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return report


def _load_files(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    entity_mapping: EntityMapping,
    to_read: list[Path],
    files: list[Path],
    load_key: str,
    suppression: Suppression | None,
    report: LoadReport,
) -> None:
    """Read `to_read` into a new batch of raw.<entity> (appended or replacing the table), then
    record the files and write the load log; the caller holds the transaction."""
    entity_name = entity.name
    batch = _next_batch(con, entity)
    scans = [
        _scan_file(con, f, report.file_format, entity_mapping, index)
        for index, f in enumerate(to_read)
    ]
    scans = [s for s in scans if s is not None]
    if entity.required and report.mode == "full" and _lines_scanned(con, scans) == 0:
        for scan in scans:
            scan.drop(con)
        raise LandingError(
            f"{entity_name}: {', '.join(f.name for f in files)} in {files[0].parent} hold no data "
            "row (empty or header only); a required file must not be empty. The tables keep "
            "the previous load; put the complete file back and run again"
        )
    if not scans and report.mode == "full":
        create_empty_raw(con, entity)
        _record_files(con, entity, files, batch, load_key, replace=True)
        report.notes.append("every file is empty: table left empty")
        _write_load_log(con, entity, report)
        return

    table = f"{RAW_SCHEMA}.{entity.raw_table}"
    if scans:
        present = _check_columns(scans, entity_mapping, report)
        selects = [
            _mapped_select(scan, entity, entity_mapping, present[scan.alias]) for scan in scans
        ]
        body = "\nunion all by name\n".join(selects)
        if (
            entity_name == "orders"
            and "order_id" not in entity_mapping.columns
            and not any("order_id" in present[s.alias] for s in scans)
        ):
            report.derived_order_id = True
            if entity_mapping.merge_same_time_rows:
                body = _merged_same_time_rows(con, body, report)
            body = _with_derived_order_id(body)
        elif entity_mapping.merge_same_time_rows:
            report.notes.append("merge_same_time_rows ignored: the files carry order ids")
        if suppression is not None:
            body = _without_suppressed(con, body, entity, suppression, report, report.mode)
        body = f"select *, cast({batch} as bigint) as _batch from ({body}) as mapped"
        if report.mode == "append":
            con.execute(f"insert into {table} by name {body}")
        else:
            con.execute(f"create or replace table {table} as {body}")
    report.rows_loaded = con.execute(
        f"select count(*) from {table} where _batch = {batch}"
    ).fetchall()[0][0]
    report.rows_rejected, suppressed_lines = _create_rejects(
        con, entity, scans, suppression, append=report.mode == "append"
    )
    report.rows_suppressed += suppressed_lines
    if report.rows_rejected > report.rows_loaded:
        hints = {_delimiter_hint(scan, entity_mapping, most_lines_rejected=True) for scan in scans}
        report.notes.append(
            f"{report.rows_rejected} of {report.rows_loaded + report.rows_rejected} lines could "
            f"not be split into the file's columns.{''.join(sorted(hints))}"
        )
    renumber = [scan.path.name for scan in scans if not scan.exact_rows]
    if report.rows_rejected and renumber:
        _renumber_around_rejects(con, entity, batch, renumber)
    for scan in scans:
        scan.drop(con)
    if report.rows_loaded + report.rows_rejected == 0 and report.mode == "full":
        report.notes.append("files hold a header only: table left empty")
    failpoint("load:before_record")
    _record_files(con, entity, to_read, batch, load_key, replace=report.mode == "full")
    if report.mode == "append":
        report.notes.append(f"appended {len(to_read)} new file(s); earlier files unchanged")
        _add_previous_counts(con, entity, report)
    _write_load_log(con, entity, report)


def _lines_scanned(con: duckdb.DuckDBPyConnection, scans: list[_Scan]) -> int:
    """Data lines read from the scans, parsed or rejected by the parser."""
    total = 0
    for scan in scans:
        total += con.execute(f"select count(*) from {scan.alias}").fetchall()[0][0]
        if scan.rejects_table:
            total += con.execute(f"select count(*) from {scan.rejects_table}").fetchall()[0][0]
    return total


def _files_table(entity: Entity) -> str:
    return f"{RAW_SCHEMA}.{entity.raw_table}_files"


def _load_key(mapping: EntityMapping, suppression: Suppression | None) -> str:
    """Changes whenever the same files would load differently."""
    digest = hashlib.sha256(repr(mapping).encode())
    if suppression is not None:
        digest.update(",".join(sorted(suppression.customer_hashes)).encode())
        digest.update(",".join(suppression.id_schemes).encode())
        digest.update(",".join(sorted(suppression.email_keys)).encode())
    return digest.hexdigest()[:16]


def _fingerprint(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _new_files_only(
    con: duckdb.DuckDBPyConnection, entity: Entity, files: list[Path], load_key: str
) -> list[Path] | None:
    """The files not loaded yet, or None when a full reload is needed (a loaded file changed
    or disappeared, the mapping or suppression list changed, order ids are derived)."""
    if not table_exists(con, _files_table(entity)) or not table_exists(
        con, f"{RAW_SCHEMA}.{entity.raw_table}_load"
    ):
        return None
    derived = con.execute(
        f"select bool_or(derived_order_id) from {RAW_SCHEMA}.{entity.raw_table}_load"
    ).fetchall()[0][0]
    if derived:
        return None  # derived ids number repeats across all files: always reload
    loaded = {
        file: (size, mtime, key)
        for file, size, mtime, key in con.execute(
            f"select file, size, mtime_ns, load_key from {_files_table(entity)}"
        ).fetchall()
    }
    if not loaded:
        return None
    current = {str(f): f for f in files}
    for file, (size, mtime, key) in loaded.items():
        if key != load_key or file not in current or _fingerprint(current[file]) != (size, mtime):
            return None
    return [f for name, f in current.items() if name not in loaded]


def _unrecorded_rows(con: duckdb.DuckDBPyConnection, entity: Entity) -> int:
    """Rows of raw.<entity> whose batch has no record in raw.<entity>_files."""
    table = f"{RAW_SCHEMA}.{entity.raw_table}"
    if not table_exists(con, table) or not table_exists(con, _files_table(entity)):
        return 0
    return con.execute(
        f"select count(*) from {table} "
        f"where _batch not in (select distinct batch from {_files_table(entity)})"
    ).fetchall()[0][0]


BATCHES = f"{RAW_SCHEMA}.load_batches"


def _next_batch(con: duckdb.DuckDBPyConnection, entity: Entity) -> int:
    """A number no earlier load of any entity used: incremental dbt models tell new rows
    from processed ones by it, so it must never repeat, even after a full reload."""
    con.execute(
        f"create table if not exists {BATCHES} (batch bigint, entity varchar, started_at timestamp)"
    )
    latest = con.execute(f"select coalesce(max(batch), 0) from {BATCHES}").fetchall()[0][0]
    con.execute(f"insert into {BATCHES} values (?, ?, now())", [latest + 1, entity.name])
    return latest + 1


def _record_files(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[Path],
    batch: int,
    load_key: str,
    replace: bool,
) -> None:
    table = _files_table(entity)
    if replace or not table_exists(con, table):
        con.execute(
            f"create or replace table {table} (file varchar, size bigint, mtime_ns bigint, "
            "batch bigint, load_key varchar)"
        )
    for path in files:
        size, mtime = _fingerprint(path)
        con.execute(
            f"insert into {table} values (?, ?, ?, ?, ?)", [str(path), size, mtime, batch, load_key]
        )


def _previous_counts(con: duckdb.DuckDBPyConnection, entity: Entity) -> tuple[int, int, int]:
    return con.execute(
        f"select rows_loaded, rows_rejected, rows_suppressed "
        f"from {RAW_SCHEMA}.{entity.raw_table}_load"
    ).fetchall()[0]


def _add_previous_counts(
    con: duckdb.DuckDBPyConnection, entity: Entity, report: LoadReport
) -> None:
    """Totals of the raw table after an append: what earlier loads counted plus this one."""
    loaded, rejected, suppressed = _previous_counts(con, entity)
    report.rows_loaded += loaded
    report.rows_rejected += rejected
    report.rows_suppressed += suppressed


def _carry_over_counts(con: duckdb.DuckDBPyConnection, entity: Entity, report: LoadReport) -> None:
    report.rows_loaded, report.rows_rejected, report.rows_suppressed = _previous_counts(con, entity)
    report.notes.append("no new or changed files: raw table unchanged")


@dataclass
class _Scan:
    path: Path
    alias: str
    columns: dict[str, str]  # column name -> DuckDB type
    rejects_table: str | None  # text only; Parquet scans are views, text scans temp tables
    # Line-by-line scans number their rows by physical line already (rejects included).
    exact_rows: bool = False
    delimiter: str | None = None  # what split the file (None: DuckDB's sniffer chose)

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        kind = "table" if self.rejects_table else "view"
        con.execute(f"drop {kind} if exists {self.alias}")


# A delimiter that never occurs in text, so DuckDB hands over each line whole.
_NO_DELIMITER = "\x01"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def text_encoding(path: Path, mapping: EntityMapping) -> str:
    """The mapped encoding; a UTF-16 byte-order mark wins over the utf-8 default."""
    if mapping.encoding == "utf-8":
        with open(path, "rb") as handle:
            if handle.read(2) in _UTF16_BOMS:
                return "utf-16"
    return mapping.encoding


def text_delimiter(path: Path, mapping: EntityMapping, encoding: str) -> str | None:
    """The mapped delimiter; without one, whitespace-aligned and ``||`` files are recognised
    here (DuckDB's sniffer would split them on single spaces or pipes)."""
    if mapping.delimiter is not None or mapping.widths:
        return mapping.delimiter
    sniffed, _ = sniff_delimiter(read_head(path, encoding)[1])
    return sniffed if sniffed in (WHITESPACE, "||") else None


def _scan_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    file_format: str,
    mapping: EntityMapping,
    index: int,
) -> _Scan | None:
    """Read one file into a temp table with its row numbers; None for a 0-byte file."""
    alias = f"_scan_{mapping.entity.name}_{index}"
    literal = _sql_str(str(path))
    if file_format == "parquet":
        try:
            # A view: Parquet is typed and fast to read, so it is not copied twice.
            con.execute(
                f"create or replace temp view {alias} as select * exclude (file_row_number), "
                f"file_row_number + 1 as "
                f"_source_row from read_parquet({literal}, file_row_number = true)"
            )
            con.execute(f"select * from {alias} limit 0").fetchall()
        except duckdb.Error as exc:
            raise LandingError(
                f"{path}: not a readable Parquet file ({_error_summary(exc, path)})"
            ) from exc
        return _Scan(path, alias, _scan_columns(con, alias), rejects_table=None)
    if path.stat().st_size == 0:
        return None
    encoding = text_encoding(path, mapping)
    delimiter = text_delimiter(path, mapping, encoding)
    if mapping.widths or (
        delimiter is not None and (delimiter == WHITESPACE or len(delimiter) > 1)
    ):
        return _scan_lines(con, path, mapping, alias, encoding, delimiter)
    rejects = f"{alias}_rejects"
    options = [
        f"header = {str(mapping.header).lower()}",
        "all_varchar = true",
        "store_rejects = true",
        f"rejects_table = {_sql_str(rejects)}",
        f"rejects_scan = {_sql_str(rejects + '_scan')}",
        f"encoding = {_sql_str(encoding)}",
    ]
    if delimiter:
        options.append(f"delim = {_sql_str(delimiter)}")
    # row_number() over () follows the file order (DuckDB keeps insertion order); with a
    # header (line 1) data row k sits on line k + 1, without one on line k, until a reject
    # shifts it.
    first_line = 1 if mapping.header else 0
    try:
        con.execute(
            f"create or replace temp table {alias} as select *, row_number() over () + "
            f"{first_line} as _source_row from read_csv({literal}, {', '.join(options)})"
        )
    except duckdb.Error as exc:
        raise LandingError(
            f"{path}: cannot be read as CSV ({_error_summary(exc, path)}); check "
            f"`{mapping.entity.name}.delimiter`/`encoding`/`format` in mapping.yaml"
        ) from exc
    columns = _scan_columns(con, alias)
    if not mapping.header:
        names = _headerless_names(path, mapping, len(columns))
        for old, new in zip(list(columns), names, strict=True):
            con.execute(f"alter table {alias} rename column {_quote(old)} to {_quote(new)}")
        columns = _scan_columns(con, alias)
    return _Scan(path, alias, columns, rejects_table=rejects, delimiter=delimiter)


def _scan_columns(con: duckdb.DuckDBPyConnection, alias: str) -> dict[str, str]:
    return {
        name: dtype
        for name, dtype in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = ? order by ordinal_position",
            [alias],
        ).fetchall()
        if name != "_source_row"
    }


def _headerless_names(path: Path, mapping: EntityMapping, count: int) -> list[str]:
    """column_names from the mapping, else column_1 .. column_n (positions are 1-based)."""
    if not mapping.column_names:
        return [f"column_{i}" for i in range(1, count + 1)]
    if len(mapping.column_names) != count:
        raise LandingError(
            f"{path}: `{mapping.entity.name}.column_names` in {MAPPING_FILE_NAME} names "
            f"{len(mapping.column_names)} columns but the file has {count}"
        )
    return list(mapping.column_names)


def _split_sql(mapping: EntityMapping, delimiter: str | None, line: str) -> str:
    """SQL for the list of a line's fields (surrounding quotes removed)."""
    text = f"rtrim({line}, chr(13))"
    if mapping.widths:
        starts = [1 + sum(mapping.widths[:i]) for i in range(len(mapping.widths))]
        parts = [
            f"substring({text}, {s}, {w})" for s, w in zip(starts, mapping.widths, strict=True)
        ]
        parts[-1] = f"substring({text}, {starts[-1]})"  # the last field runs to the line's end
        fields = f"[{', '.join(parts)}]"
    elif delimiter == WHITESPACE:
        fields = f"regexp_split_to_array(trim({text}, ' ' || chr(9)), '[ \\t]+')"
    else:
        fields = f"string_split({text}, {_sql_str(str(delimiter))})"
    return f"list_transform({fields}, lambda f: regexp_replace(trim(f), '^\"(.*)\"$', '\\1'))"


def _split_python(mapping: EntityMapping, delimiter: str | None, line: str) -> list[str]:
    """The same split in Python, for the header line."""
    line = line.rstrip("\r")
    if mapping.widths:
        fields, start = [], 0
        for i, width in enumerate(mapping.widths):
            last = i == len(mapping.widths) - 1
            fields.append(line[start:] if last else line[start : start + width])
            start += width
    elif delimiter == WHITESPACE:
        fields = split_line(line, WHITESPACE)
    else:
        fields = line.split(str(delimiter))
    return [_unquote(f.strip()) for f in fields]


def _unquote(field: str) -> str:
    return field[1:-1] if len(field) > 1 and field[0] == field[-1] == '"' else field


def _scan_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: EntityMapping,
    alias: str,
    encoding: str,
    delimiter: str | None,
) -> _Scan | None:
    """Read a file DuckDB's CSV reader cannot split: one line per row, split in SQL. Lines
    with the wrong number of fields go to the rejects table with their line number."""
    lines, rejects, parser_rejects = f"{alias}_lines", f"{alias}_rejects", f"{alias}_unreadable"
    options = [
        "columns = {'line': 'varchar'}",
        "header = false",
        "auto_detect = false",
        f"delim = {_sql_str(_NO_DELIMITER)}",
        "quote = ''",
        "escape = ''",
        "store_rejects = true",
        f"rejects_table = {_sql_str(parser_rejects)}",
        f"rejects_scan = {_sql_str(parser_rejects + '_scan')}",
        f"encoding = {_sql_str(encoding)}",
    ]
    try:
        con.execute(
            f"create or replace temp table {lines} as select row_number() over () as _line, "
            f"line from read_csv({_sql_str(str(path))}, {', '.join(options)})"
        )
    except duckdb.Error as exc:
        raise LandingError(
            f"{path}: cannot be read as text ({_first_line(exc)}); check "
            f"`{mapping.entity.name}.encoding` in mapping.yaml"
        ) from exc
    # Lines the reader could not decode are missing from the numbering: shift the rest.
    con.execute(
        f"""
        update {lines} as t set _line = t._line + shift.n
        from (
            select a._line, count(*) as n
            from {lines} as a
            join (select line, row_number() over (order by line) as idx
                  from {parser_rejects}) as r on r.line - r.idx <= a._line - 1
            group by a._line
        ) as shift
        where t._line = shift._line
        """
    )
    con.execute(
        f"delete from {lines} where line is null or trim(line, ' ' || chr(9) || chr(13)) = ''"
    )
    split = _split_sql(mapping, delimiter, "line")
    header_line = 0
    if mapping.header:
        first = con.execute(f"select _line, line from {lines} order by _line limit 1").fetchall()
        if not first:
            con.execute(f"drop table if exists {parser_rejects}")
            con.execute(f"drop table if exists {parser_rejects}_scan")
            return None
        header_line, header_text = first[0]
        names = header_names(mapping, delimiter, header_text, path)
    elif mapping.column_names:
        names = list(mapping.column_names)
    elif mapping.widths:
        names = [f"column_{i}" for i in range(1, len(mapping.widths) + 1)]
    else:
        modal = con.execute(f"select mode(len({split})) from {lines}").fetchall()[0][0]
        names = [f"column_{i}" for i in range(1, (modal or 1) + 1)]
    fields = len(names)
    selects = ", ".join(f"fields[{i + 1}] as {_quote(n)}" for i, n in enumerate(names))
    con.execute(
        f"create or replace temp table {alias} as select {selects}, _line as _source_row "
        f"from (select _line, {split} as fields from {lines} where _line > {header_line}) "
        f"where len(fields) = {fields} order by _line"
    )
    con.execute(
        f"""
        create or replace temp table {rejects} as
        select line, csv_line, cast(error_type as varchar) as error_type, error_message
        from {parser_rejects}
        union all
        select _line, line,
               case when len(fields) < {fields} then 'MISSING COLUMNS' else 'TOO MANY COLUMNS' end,
               'expected {fields} fields, found ' || len(fields)
        from (
            -- Split again only the few lines the table above did not take.
            select _line, line, {split} as fields from {lines}
            where _line > {header_line} and _line not in (select _source_row from {alias})
        )
        """
    )
    for table in (lines, parser_rejects, parser_rejects + "_scan"):
        con.execute(f"drop table if exists {table}")
    return _Scan(
        path, alias, _scan_columns(con, alias), rejects, exact_rows=True, delimiter=delimiter
    )


def _check_columns(
    scans: list[_Scan], mapping: EntityMapping, report: LoadReport
) -> dict[str, dict[str, str]]:
    """Match each file's header onto the contract; returns alias -> {contract column: source}."""
    entity = mapping.entity
    present: dict[str, dict[str, str]] = {}
    missing_optional: set[str] = set()
    ignored: set[str] = set()
    for scan in scans:
        matched = _match_columns(scan, mapping)
        derivable = {"order_id"} if entity.name == "orders" else set()
        missing_required = [
            c for c in entity.required_columns if c not in matched and c not in derivable
        ]
        if missing_required:
            column = missing_required[0]
            wanted = mapping.source_column(column)
            what = f"column {wanted}" if isinstance(wanted, int) else f"column '{wanted}'"
            header = _describe_header(scan.columns, entity)
            raise LandingError(
                f"{scan.path}: required {what} (contract column '{column}') is missing; "
                f"{header}.{_delimiter_hint(scan, mapping)} Set `{entity.name}.columns.{column}` "
                f"in {MAPPING_FILE_NAME} to the column that holds it"
            )
        if entity.name == "order_items" and "order_id" not in matched:
            raise LandingError(f"{scan.path}: order_items need an order_id column")
        missing_optional |= set(entity.columns) - set(matched)
        ignored |= set(scan.columns) - set(matched.values())
        present[scan.alias] = matched
    report.missing_optional_columns = sorted(missing_optional)
    report.ignored_columns = sorted(ignored)
    return present


def _match_columns(scan: _Scan, mapping: EntityMapping) -> dict[str, str]:
    """contract column -> the file's column: by name (case-insensitive) or 1-based position."""
    names = list(scan.columns)
    by_folded = {c.strip().lower(): c for c in names}
    matched: dict[str, str] = {}
    for contract_column in mapping.entity.columns:
        wanted = mapping.source_column(contract_column)
        if isinstance(wanted, int):
            if wanted > len(names):
                raise LandingError(
                    f"{scan.path}: `{mapping.entity.name}.columns.{contract_column}: {wanted}` "
                    f"in {MAPPING_FILE_NAME} points past the file's {len(names)} column(s)."
                    f"{_delimiter_hint(scan, mapping)}"
                )
            matched[contract_column] = names[wanted - 1]
            continue
        source = wanted if wanted in scan.columns else by_folded.get(wanted.strip().lower())
        if source is not None:
            matched[contract_column] = source
    return matched


def _delimiter_hint(scan: _Scan, mapping: EntityMapping, most_lines_rejected: bool = False) -> str:
    """When another delimiter would split the file's first lines into more columns than it
    has now (or split them evenly where most lines were rejected), say which: the usual cause
    of a 'missing column' or of mass rejects is a delimiter that does not fit."""
    if scan.rejects_table is None or mapping.widths:
        return ""
    _, lines = read_head(scan.path, text_encoding(scan.path, mapping))
    suggested, fields = sniff_delimiter(lines)
    if suggested is None or suggested == scan.delimiter:
        return ""
    if fields <= len(scan.columns) and not most_lines_rejected:
        return ""
    split = split_line(lines[0], suggested) if mapping.header else None
    if split and any(_VALUE_LIKE.search(f) for f in split):
        split = None  # line 1 holds values, not column names: never quote them
    shown = f" into {[_unquote(f.strip()) for f in split]}" if split else f" into {fields} fields"
    used = describe_delimiter(scan.delimiter) if scan.delimiter else "the sniffed delimiter"
    return (
        f" The {'header' if mapping.header else 'first line'} does not split into the expected "
        f"columns with {used}; `{mapping.entity.name}.delimiter: "
        f"{describe_delimiter(suggested)}` in {MAPPING_FILE_NAME} splits it{shown}."
    )


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER")


def _mapped_select(
    scan: _Scan, entity: Entity, mapping: EntityMapping, matched: dict[str, str]
) -> str:
    expressions = []
    for column in entity.columns:
        source = matched.get(column)
        if source is None:
            expressions.append(f"cast(null as varchar) as {column}")
            continue
        expr = _quote(source)
        dtype = scan.columns[source].upper()
        if column in entity.timestamp_columns and dtype in _INTEGER_TYPES:
            expr, dtype = f"cast({expr} as varchar)", "VARCHAR"  # 19970101 as a number
        if dtype == "VARCHAR":
            expr = translate_text(column, f"nullif(trim({expr}), '')", mapping)
        expressions.append(f"{expr} as {column}")
    expressions.append(f"{_sql_str(scan.path.name)} as _source_file")
    expressions.append("_source_row")
    return f"select {', '.join(expressions)} from {scan.alias}"


def header_names(
    mapping: EntityMapping, delimiter: str | None, header_text: str, path: object
) -> list[str]:
    """The column names a header line splits into; unique and non-empty, else an error that
    names the delimiter (or widths) used and the way out."""
    names = _split_python(mapping, delimiter, header_text)
    if len(set(names)) != len(names) or not all(names):
        raise LandingError(
            f"{path}: the header splits into {names} with "
            f"`delimiter: {describe_delimiter(delimiter or '')}`"
            f"{' and the mapped widths' if mapping.widths else ''}: names must be unique "
            "and not empty; check the delimiter/widths, or set `header: false`"
        )
    return names


def no_file_error(entity_mapping: EntityMapping, landing_dir: Path) -> LandingError:
    """A required entity without a landing file: where we looked and how to point at one."""
    name = entity_mapping.entity.name
    looked_for = ", ".join(entity_mapping.default_patterns())
    return LandingError(
        f"{name}: no file found in {landing_dir} (looked for {looked_for}); "
        f"add one or point `{name}.files` in {MAPPING_FILE_NAME} at your file"
    )


def translate_text(
    column: str,
    expr: str,
    mapping: EntityMapping,
    timestamp_text: Callable[[str, EntityMapping], str] | None = None,
) -> str:
    """SQL that turns the user's text for one contract column into contract text: the date
    format into ISO, amounts into plain decimals, statuses into contract statuses. A value
    the mapping cannot translate is kept as written, so staging quarantines it verbatim.
    timestamp_text: the engine's date parsing (DuckDB's by default; the Spark loader passes
    its own); amounts and statuses are the same SQL on both engines."""
    if column in mapping.entity.timestamp_columns:
        return (timestamp_text or duckdb_timestamp_text)(expr, mapping)
    if column in AMOUNT_COLUMNS:
        return _translated_amount(expr, mapping)
    if column == "status" and mapping.status_values:
        cases = " ".join(
            f"when {_sql_str(k)} then {_sql_str(v)}"
            for k, v in sorted(mapping.status_values.items())
        )
        return f"coalesce(case lower({expr}) {cases} end, {expr})"
    return expr


def duckdb_timestamp_text(expr: str, mapping: EntityMapping) -> str:
    """A landing timestamp in the mapping's date format as ISO text (DuckDB SQL)."""
    if mapping.date_format:
        fmt = _sql_str(mapping.date_format)
        return f"coalesce(strftime(try_strptime({expr}, {fmt}), '%Y-%m-%d %H:%M:%S'), {expr})"
    # ISO 8601 basic dates (19970101) need no date_format.
    return (
        f"case when regexp_full_match({expr}, '[0-9]{{8}}') then coalesce(strftime("
        f"try_strptime({expr}, '%Y%m%d'), '%Y-%m-%d'), {expr}) else {expr} end"
    )


def _translated_amount(expr: str, mapping: EntityMapping) -> str:
    if (
        mapping.decimal_separator == "."
        and not mapping.thousands_separator
        and not mapping.currency_symbols
    ):
        return expr
    cleaned = expr
    # Longest first, so 'US$' goes before '$'.
    for symbol in sorted(mapping.currency_symbols, key=len, reverse=True):
        cleaned = f"replace({cleaned}, {_sql_str(symbol)}, '')"
    if mapping.currency_symbols:
        cleaned = f"trim({cleaned})"
    thousands = mapping.thousands_separator or ("." if mapping.decimal_separator == "," else None)
    if thousands:
        cleaned = f"replace({cleaned}, {_sql_str(thousands)}, '')"
    if mapping.decimal_separator == ",":
        cleaned = f"replace({cleaned}, ',', '.')"
    return (
        f"coalesce(case when try_cast({cleaned} as double) is not null then {cleaned} end, {expr})"
    )


def _merged_same_time_rows(con: duckdb.DuckDBPyConnection, body: str, report: LoadReport) -> str:
    """Orders rows of one customer at one time (and status) become one order with the amounts
    summed. Rows whose customer, time or amount is unusable stay apart, so staging
    quarantines them as they are; the first row in file order stands for the merged order."""
    con.execute(
        f"""
        create or replace temp table _premerge as
        select *, try_cast(amount as double) as _amount,
               customer_id is not null and try_cast(ordered_at as timestamp) is not null
               and try_cast(amount as double) is not null as _mergeable
        from ({body}) as mapped
        """
    )
    merged = """
        select * exclude (_amount, _mergeable) from _premerge where not _mergeable
        union all by name
        select cast(null as varchar) as order_id, customer_id, ordered_at, status,
               cast(round(sum(_amount), 6) as varchar) as amount,
               first(_source_file order by _source_file, _source_row) as _source_file,
               first(_source_row order by _source_file, _source_row) as _source_row
        from _premerge where _mergeable
        group by customer_id, ordered_at, status
    """
    before, after = con.execute(
        f"select (select count(*) from _premerge), (select count(*) from ({merged}))"
    ).fetchall()[0]
    report.rows_merged = before - after
    report.notes.append(
        f"merge_same_time_rows: {report.rows_merged} row(s) merged into orders at the same "
        "customer and time"
    )
    return merged


def _without_suppressed(
    con: duckdb.DuckDBPyConnection,
    body: str,
    entity: Entity,
    suppression: Suppression,
    report: LoadReport,
    mode: str,
) -> str:
    """Materialise the mapped rows once, count and drop erased customers' rows."""
    if entity.name == "orders" and (mode == "full" or not table_exists(con, SUPPRESSED_ORDERS)):
        con.execute(f"create or replace table {SUPPRESSED_ORDERS} (order_hash varchar)")
    if entity.name == "customers" and (mode == "full" or not table_exists(con, SUPPRESSED_EMAILS)):
        con.execute(f"create or replace table {SUPPRESSED_EMAILS} (email_key varchar)")
    if suppression.empty:
        return body
    suppression.register(con)
    con.execute(f"create or replace temp table _mapped as {body}")
    if "customer_id" in entity.columns:
        erased = f"({suppression.erased_id_sql('customer_id')})"
    elif entity.name == "order_items" and table_exists(con, SUPPRESSED_ORDERS):
        erased = (
            f"{suppression.order_hash_sql('order_id')} in "
            f"(select order_hash from {SUPPRESSED_ORDERS})"
        )
    else:
        return "select * from _mapped"
    if entity.name == "customers":
        # The erased customers' e-mails, then every row with one of them or a known one.
        email_key = suppression.email_key_sql("email")
        con.execute(
            f"insert into {SUPPRESSED_EMAILS} select distinct {email_key} from _mapped "
            f"where {erased} and nullif(trim(email), '') is not null"
        )
        erased = (
            f"({erased} or {email_key} in (select email_key from _suppressed_emails "
            f"union all select email_key from {SUPPRESSED_EMAILS}))"
        )
    if entity.name == "orders":
        con.execute(
            f"insert into {SUPPRESSED_ORDERS} select distinct "
            f"{suppression.order_hash_sql('order_id')} as order_hash from _mapped where {erased}"
        )
    report.rows_suppressed = con.execute(f"select count(*) from _mapped where {erased}").fetchall()[
        0
    ][0]
    return f"select * from _mapped where not coalesce({erased}, false)"


def _with_derived_order_id(body: str) -> str:
    """Files without an order id get one from customer, timestamp, amount and repeat count.

    The repeat count (1 for the first identical customer/time/amount row in file order, 2 for
    the next, ...) keeps true repeat purchases apart while staying stable when a file is
    re-exported in another row order.
    """
    return f"""
        select * replace (
            'D' || left(md5(concat_ws('|', customer_id, ordered_at, amount, row_number() over (
                partition by customer_id, ordered_at, amount
                order by _source_file, _source_row
            ))), 16) as order_id
        )
        from ({body}) as mapped
    """


def _write_load_log(con: duckdb.DuckDBPyConnection, entity: Entity, report: LoadReport) -> None:
    """raw.<entity>_load: one row with what this load read, kept, rejected and dropped, so
    dbt can check that every row read is either staged or quarantined."""
    con.execute(
        f"""
        create or replace table {RAW_SCHEMA}.{entity.raw_table}_load as
        select ? as entity, ? as files, ? as rows_read, ? as rows_loaded,
               ? as rows_rejected, ? as rows_suppressed, ? as rows_merged, ? as derived_order_id,
               ? as load_mode, now() as loaded_at
        """,
        [
            entity.name,
            len(report.files),
            report.rows_read,
            report.rows_loaded,
            report.rows_rejected,
            report.rows_suppressed,
            report.rows_merged,
            report.derived_order_id,
            report.mode,
        ],
    )


def create_empty_raw(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """raw.<entity> and its rejects table, empty (no file, or a file that cannot be used)."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    columns = ", ".join(f"{c} varchar" for c in entity.columns)
    con.execute(
        f"create or replace table {RAW_SCHEMA}.{entity.raw_table} "
        f"({columns}, _source_file varchar, _source_row bigint, _batch bigint)"
    )
    con.execute(f"drop table if exists {_files_table(entity)}")
    _create_rejects(con, entity, [])


def _create_rejects(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    scans: list[_Scan],
    suppression: Suppression | None = None,
    append: bool = False,
) -> tuple[int, int]:
    """(lines kept in raw.<entity>_rejects from these scans, lines dropped as an erased
    customer's). Appends to the table in append mode, replaces it otherwise."""
    table = f"{RAW_SCHEMA}.{entity.raw_table}_rejects"
    parts = [
        # DuckDB writes one reject per missing column; a user counts lines.
        f"""select {_sql_str(scan.path.name)} as _source_file, line as _source_row,
                   min(csv_line) as raw_line, min(error_type) as error_type,
                   min(error_message) as error_message
            from {scan.rejects_table}
            group by line"""
        for scan in scans
        if scan.rejects_table
    ]
    if not append or not table_exists(con, table):
        con.execute(
            f"create or replace table {table} (_source_file varchar, _source_row bigint, "
            f"raw_line varchar, error_type varchar, error_message varchar)"
        )
    kept = total = 0
    if parts:
        body = " union all ".join(parts)
        total = con.execute(f"select count(*) from ({body})").fetchall()[0][0]
        if suppression is not None and not suppression.empty:
            body = _rejects_without_suppressed(con, body, suppression)
        before = con.execute(f"select count(*) from {table}").fetchall()[0][0]
        con.execute(f"insert into {table} by name {body}")
        kept = con.execute(f"select count(*) from {table}").fetchall()[0][0] - before
    for scan in scans:
        if scan.rejects_table:
            con.execute(f"drop table if exists {scan.rejects_table}")
            con.execute(f"drop table if exists {scan.rejects_table}_scan")
    return kept, total - kept


def _rejects_without_suppressed(
    con: duckdb.DuckDBPyConnection, body: str, suppression: Suppression
) -> str:
    """A line the parser could not read is dropped when any of its fields is an erased
    customer's id (in any of its normalised forms), one of their order ids or e-mails."""
    suppression.register(con)
    orders = (
        f"(select coalesce(list(order_hash), []) from {SUPPRESSED_ORDERS})"
        if table_exists(con, SUPPRESSED_ORDERS)
        else "[]::varchar[]"
    )
    emails = "select email_key from _suppressed_emails"
    if table_exists(con, SUPPRESSED_EMAILS):
        emails += f" union all select email_key from {SUPPRESSED_EMAILS}"
    fields = "regexp_split_to_array(coalesce(raw_line, ''), '[,;|\t]')"
    field = "trim(field, '\"')"
    checks = [
        f"list_has_any(list_transform({fields}, lambda field: {suppression.hash_sql(field, s)}), "
        "(select coalesce(list(customer_hash), []) from _suppressed_customers))"
        for s in suppression.id_schemes
    ]
    checks.append(
        f"list_has_any(list_transform({fields}, "
        f"lambda field: {suppression.order_hash_sql(field)}), {orders})"
    )
    checks.append(
        f"list_has_any(list_transform({fields}, "
        f"lambda field: {suppression.email_key_sql(field)}), "
        f"(select coalesce(list(email_key), []) from ({emails})))"
    )
    return f"""
        select * from ({body}) as rejects
        where not ({" or ".join(checks)})
    """


def _renumber_around_rejects(
    con: duckdb.DuckDBPyConnection, entity: Entity, batch: int, files: list[str]
) -> None:
    """Give accepted rows their true line number once rejected lines are known.

    Accepted row k (line k + 1 before correction) moves down by the number of rejected lines
    that precede it: reject i (in line order) has reject_line - i - 1 accepted rows before it,
    so it precedes accepted row k when reject_line - i <= k.
    """
    table = f"{RAW_SCHEMA}.{entity.raw_table}"
    names = ", ".join(_sql_str(name) for name in files)
    con.execute(
        f"""
        update {table} as t set _source_row = t._source_row + shift.rejects_before
        from (
            select r._source_file, a._source_row, max(r.idx) as rejects_before
            from (
                select distinct _source_file, _source_row from {table} where _batch = {batch}
            ) as a
            join (
                select _source_file, _source_row,
                       row_number() over (partition by _source_file order by _source_row) as idx
                from {table}_rejects
                where _source_file in ({names})
            ) as r
              on r._source_file = a._source_file and r._source_row - r.idx <= a._source_row - 1
            group by all
        ) as shift
        where t._batch = {batch}
          and t._source_file = shift._source_file and t._source_row = shift._source_row
        """
    )


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether `schema.name` exists (raw tables, quarantine, the publish log ...)."""
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


# A header cell that looks like a value, not a column name: an e-mail, a number or date, control
# characters (a UTF-16 file read as UTF-8), or long text.
_VALUE_LIKE = re.compile(r"@|^[\d\s.,:/+-]+$|[\x00-\x1f]|^.{65,}$", re.DOTALL)


def _describe_header(columns: dict[str, str], entity: Entity) -> str:
    """The file's column names for an error message, unless line 1 looks like data (no header
    row, or another encoding): messages quote column names, never a customer's values."""
    names = list(columns)
    if any("\x00" in name for name in names):
        return (
            "line 1 holds NUL bytes, so the file looks UTF-16 encoded (its values are not "
            f"quoted here): set `{entity.name}.encoding: utf-16` in {MAPPING_FILE_NAME}"
        )
    if any(_VALUE_LIKE.search(name) for name in names):
        return (
            f"line 1 has {len(names)} field(s) that look like values, not column names "
            "(numbers, dates, e-mails or control characters; not quoted here): check that the "
            "file has a header row and the right encoding and delimiter"
        )
    return f"the file has columns {names}"


def _error_summary(exc: Exception, path: Path) -> str:
    """DuckDB's first error line with quoted values replaced by '…': parser errors can quote
    a line of the file, and messages must not carry customer data. The file's own path stays."""
    return redact_quoted(_first_line(exc), keep=(str(path), path.name))
