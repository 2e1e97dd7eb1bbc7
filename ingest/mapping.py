"""`mapping.yaml`: how a user's own files line up with the landing contract.

A user with, say, a transactions export shaped ``customer;date;number_of_items;value`` writes::

    orders:
      files: transactions.csv
      delimiter: ";"
      date_format: "%d/%m/%Y"
      columns: {customer_id: customer, ordered_at: date, amount: value}

and the pipeline reads it without any SQL being edited. Every key is optional; an entity that is
not mentioned is looked up under its contract name (``orders.csv``, ``orders/*.parquet``, ...).

Layouts beyond plain CSV: ``delimiter: whitespace`` (runs of spaces/tabs, as in aligned text
exports) or a multi-character delimiter such as ``"||"``; ``widths: [10, 12, 8]`` for
fixed-width files; ``header: false`` with ``column_names`` or 1-based positions in ``columns``
for header-less files; ``currency_symbols``/``thousands_separator`` for amounts written like
``$1,234.50`` or ``1.234,50 EUR``; ``merge_same_time_rows`` for exports that split one order into
several rows at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ingest.contract import ENTITIES, ORDER_STATUSES, Entity

MAPPING_FILE_NAME = "mapping.yaml"

FORMATS = ("csv", "parquet")
ENCODINGS = ("utf-8", "utf-16", "latin-1")
ENTITY_KEYS = {
    "files",
    "header",
    "column_names",
    "widths",
    "thousands_separator",
    "currency_symbols",
    "merge_same_time_rows",
    "format",
    "delimiter",
    "encoding",
    "date_format",
    "decimal_separator",
    "columns",
    "status_values",
    "min_date",
}
# `delimiter: whitespace`: fields separated by runs of spaces/tabs, leading blanks ignored.
WHITESPACE = "whitespace"
THOUSANDS_SEPARATORS = (",", ".", " ", "'")
# Top-level keys that are not entities.
GLOBAL_KEYS = {"version"}


class MappingError(ValueError):
    """mapping.yaml is malformed; the message names the file and the offending key."""


@dataclass(frozen=True)
class EntityMapping:
    entity: Entity
    files: tuple[str, ...] = ()
    format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    date_format: str | None = None
    decimal_separator: str = "."
    # contract column -> the user's column name, or its 1-based position in the file
    columns: dict[str, str | int] = field(default_factory=dict)
    # the user's status value (case-insensitive) -> contract status
    status_values: dict[str, str] = field(default_factory=dict)
    header: bool = True
    # Names for the columns of a header-less file, in file order (default column_1, ...).
    column_names: tuple[str, ...] = ()
    # Fixed-width layout: the width of each field in characters, in file order.
    widths: tuple[int, ...] = ()
    thousands_separator: str | None = None
    currency_symbols: tuple[str, ...] = ()
    merge_same_time_rows: bool = False
    # Rows dated before this YYYY-MM-DD are quarantined (None: INSIGHTS_MIN_VALID_DATE).
    min_date: str | None = None

    def source_column(self, contract_column: str) -> str | int:
        return self.columns.get(contract_column, contract_column)

    @property
    def reads_lines(self) -> bool:
        """Layouts DuckDB's CSV reader cannot split: read line by line and split in SQL."""
        return bool(self.widths) or (
            self.delimiter is not None and (self.delimiter == WHITESPACE or len(self.delimiter) > 1)
        )

    def default_patterns(self) -> tuple[str, ...]:
        name = self.entity.name
        return (
            f"{name}.csv",
            f"{name}.csv.gz",
            f"{name}.tsv",
            f"{name}.txt",
            f"{name}.dat",
            f"{name}.parquet",
            f"{name}/*.csv",
            f"{name}/*.csv.gz",
            f"{name}/*.parquet",
        )


@dataclass(frozen=True)
class LandingMapping:
    source: Path | None
    entities: dict[str, EntityMapping]

    def __getitem__(self, entity_name: str) -> EntityMapping:
        return self.entities[entity_name]


def load_mapping(landing_dir: Path) -> LandingMapping:
    """Read ``mapping.yaml`` from the landing dir; a missing file means the plain contract."""
    path = Path(landing_dir) / MAPPING_FILE_NAME
    if not path.exists():
        return parse_mapping({}, source=None)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML ({exc})") from exc
    return parse_mapping(raw, source=path)


def parse_mapping(raw: Any, source: Path | None) -> LandingMapping:
    where = str(source) if source else MAPPING_FILE_NAME
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: the top level must be a mapping of entity names")
    unknown = set(raw) - set(ENTITIES) - GLOBAL_KEYS
    if unknown:
        raise MappingError(
            f"{where}: unknown key(s) {sorted(unknown)}; entities are {sorted(ENTITIES)}"
        )
    entities = {
        name: _parse_entity(entity, raw.get(name) or {}, where) for name, entity in ENTITIES.items()
    }
    return LandingMapping(source=source, entities=entities)


def _parse_entity(entity: Entity, raw: Any, where: str) -> EntityMapping:
    prefix = f"{where}: {entity.name}"
    if not isinstance(raw, dict):
        raise MappingError(f"{prefix}: must be a mapping with keys {sorted(ENTITY_KEYS)}")
    unknown = set(raw) - ENTITY_KEYS
    if unknown:
        raise MappingError(
            f"{prefix}: unknown key(s) {sorted(unknown)}; allowed: {sorted(ENTITY_KEYS)}"
        )

    files = raw.get("files", ())
    if isinstance(files, str):
        files = (files,)
    if not all(isinstance(f, str) and f for f in files):
        raise MappingError(f"{prefix}.files: give a file name, a glob, or a list of them")

    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise MappingError(f"{prefix}.format: {fmt!r} is not one of {list(FORMATS)}")

    delimiter = raw.get("delimiter")
    if delimiter is not None and (
        not isinstance(delimiter, str) or not delimiter or "\n" in delimiter
    ):
        raise MappingError(
            f"{prefix}.delimiter: must be a character such as ';', a string such as '||', or "
            f"'{WHITESPACE}' (runs of spaces/tabs), got {delimiter!r}"
        )
    if isinstance(delimiter, str) and delimiter.lower() == WHITESPACE:
        delimiter = WHITESPACE

    header = raw.get("header", True)
    if not isinstance(header, bool):
        raise MappingError(f"{prefix}.header: must be true or false, got {header!r}")
    column_names = raw.get("column_names") or ()
    if not isinstance(column_names, list | tuple) or not all(
        isinstance(n, str) and n.strip() for n in column_names
    ):
        raise MappingError(f"{prefix}.column_names: give a list of names, one per file column")
    if len(set(column_names)) != len(column_names):
        raise MappingError(f"{prefix}.column_names: names must be unique")
    if column_names and header:
        raise MappingError(
            f"{prefix}.column_names: only for files without a header row; add `header: false`"
        )

    widths = raw.get("widths") or ()
    if not isinstance(widths, list | tuple) or not all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths
    ):
        raise MappingError(
            f"{prefix}.widths: give the width of each fixed-width field in characters, "
            f"e.g. [10, 12, 8]"
        )
    if widths and delimiter is not None:
        raise MappingError(f"{prefix}: set either `widths` (fixed-width) or `delimiter`, not both")

    encoding = str(raw.get("encoding", "utf-8")).lower()
    if encoding not in ENCODINGS:
        raise MappingError(f"{prefix}.encoding: {encoding!r} is not one of {list(ENCODINGS)}")

    decimal = raw.get("decimal_separator", ".")
    if decimal not in (".", ","):
        raise MappingError(f"{prefix}.decimal_separator: must be '.' or ',', got {decimal!r}")
    thousands = raw.get("thousands_separator")
    if thousands is not None and (thousands not in THOUSANDS_SEPARATORS or thousands == decimal):
        raise MappingError(
            f"{prefix}.thousands_separator: must be one of {list(THOUSANDS_SEPARATORS)} and "
            f"differ from decimal_separator {decimal!r}, got {thousands!r}"
        )
    currency = raw.get("currency_symbols") or ()
    if isinstance(currency, str):
        currency = (currency,)
    if not all(isinstance(c, str) and c.strip() for c in currency):
        raise MappingError(
            f"{prefix}.currency_symbols: give the symbols or codes to strip from amounts, "
            f"e.g. ['$', 'EUR']"
        )
    merge = raw.get("merge_same_time_rows", False)
    if not isinstance(merge, bool):
        raise MappingError(f"{prefix}.merge_same_time_rows: must be true or false")
    if merge and entity.name != "orders":
        raise MappingError(f"{prefix}.merge_same_time_rows: only orders can be merged")

    date_format = raw.get("date_format")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise MappingError(
            f"{prefix}.date_format: {date_format!r} is not a strptime format such as '%d/%m/%Y'"
        )

    columns = raw.get("columns") or {}
    if not isinstance(columns, dict):
        raise MappingError(f"{prefix}.columns: must map contract columns to your column names")
    bad_columns = set(columns) - set(entity.columns)
    if bad_columns:
        raise MappingError(
            f"{prefix}.columns: {sorted(bad_columns)} not in the {entity.name} contract "
            f"{list(entity.columns)} (keys are contract columns, values are your column names)"
        )
    bad_positions = {
        k: v
        for k, v in columns.items()
        if isinstance(v, bool) or (isinstance(v, int) and v < 1) or not isinstance(v, int | str)
    }
    if bad_positions:
        raise MappingError(
            f"{prefix}.columns: {bad_positions} must be your column names or 1-based positions"
        )
    columns = {str(k): v if isinstance(v, int) else str(v) for k, v in columns.items()}

    status_values = raw.get("status_values") or {}
    if status_values and entity.name != "orders":
        raise MappingError(f"{prefix}.status_values: only orders have a status")
    if not isinstance(status_values, dict):
        raise MappingError(
            f"{prefix}.status_values: must map your values to {list(ORDER_STATUSES)}"
        )
    bad_targets = {v for v in status_values.values() if v not in ORDER_STATUSES}
    if bad_targets:
        raise MappingError(
            f"{prefix}.status_values: {sorted(map(str, bad_targets))} are not contract statuses "
            f"{list(ORDER_STATUSES)}"
        )
    status_values = {str(k).strip().lower(): str(v) for k, v in status_values.items()}

    min_date = _parse_min_date(raw.get("min_date"), prefix)

    return EntityMapping(
        entity=entity,
        files=tuple(files),
        format=fmt,
        delimiter=delimiter,
        encoding=encoding,
        date_format=date_format,
        decimal_separator=decimal,
        columns=columns,
        status_values=status_values,
        header=header,
        column_names=tuple(str(n).strip() for n in column_names),
        widths=tuple(widths),
        thousands_separator=thousands,
        currency_symbols=tuple(c.strip() for c in currency),
        merge_same_time_rows=merge,
        min_date=min_date,
    )


def _parse_min_date(value: Any, prefix: str) -> str | None:
    """`min_date`: a YYYY-MM-DD (YAML may hand over a date already)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError as exc:
        raise MappingError(
            f"{prefix}.min_date: {value!r} is not a date such as 1990-01-01"
        ) from exc


def dbt_vars(mapping: LandingMapping) -> dict[str, Any]:
    """The parts of the mapping that dbt staging needs to type the raw values."""
    return {
        "date_formats": {
            name: m.date_format for name, m in mapping.entities.items() if m.date_format
        },
        "decimal_separators": {
            name: m.decimal_separator
            for name, m in mapping.entities.items()
            if m.decimal_separator != "."
        },
        "status_map": dict(mapping["orders"].status_values),
        "min_valid_dates": {name: m.min_date for name, m in mapping.entities.items() if m.min_date},
    }
