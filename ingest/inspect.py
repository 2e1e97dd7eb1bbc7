"""`insights inspect`: what the pipeline would make of a landing folder, in seconds.

Loads every entity with the real loader into an in-memory DuckDB (the warehouse is not
touched), judges the rows with the real staging rules (ingest/staging_checks.py) and reports per
entity: files, detected layout, the first rows as typed, the date range, the rows that would be
quarantined by reason (a count and the first line number; never a row's content), and a
suggested mapping.yaml entry when the current one does not fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from ingest.contract import ENTITIES
from ingest.landing import (
    LandingError,
    create_empty_raw,
    detect_format,
    load_entity,
    resolve_files,
    text_delimiter,
    text_encoding,
)
from ingest.mapping import (
    MAPPING_FILE_NAME,
    EntityMapping,
    LandingMapping,
    MappingError,
    dbt_vars,
    load_mapping,
    parse_mapping,
)
from ingest.sniff import describe_delimiter, read_head, sniff_delimiter
from ingest.staging_checks import create_base_views
from ingest.suggest import suggest_entity_mapping

PREVIEW_ROWS = 5
# More than this share of rows quarantined: the mapping does not fit, suggest one.
SUGGEST_ABOVE_SHARE = 0.2


@dataclass
class ReasonCount:
    reason: str
    rows: int
    example_file: str
    example_line: int


@dataclass
class EntityInspection:
    entity: str
    files: list[str] = field(default_factory=list)
    layout: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> file column
    rows_read: int = 0
    rows_usable: int = 0
    preview_columns: list[str] = field(default_factory=list)
    preview: list[tuple] = field(default_factory=list)
    date_range: tuple[str, str] | None = None
    quarantine: list[ReasonCount] = field(default_factory=list)
    rows_merged: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    suggestion: dict[str, Any] | None = None

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows for r in self.quarantine)


@dataclass
class Inspection:
    landing_dir: Path
    mapping_file: Path | None
    min_valid_date: str
    entities: list[EntityInspection]
    seconds: float = 0.0
    mapping_error: str | None = None
    raw_mapping: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_new_mapping(self) -> bool:
        return self.mapping_error is not None or any(e.suggestion for e in self.entities)

    def suggested_mapping(self) -> dict[str, Any] | None:
        """The current mapping with every entity that does not fit replaced by a suggestion."""
        if not self.needs_new_mapping:
            return None
        suggested = {} if self.mapping_error else dict(self.raw_mapping)
        for inspected in self.entities:
            if inspected.suggestion is not None:
                suggested[inspected.entity] = inspected.suggestion
        return suggested

    def suggested_mapping_yaml(self) -> str | None:
        suggested = self.suggested_mapping()
        if suggested is None:
            return None
        return "# Suggested by `insights inspect`; check it, then run `insights run`.\n" + (
            yaml.safe_dump(suggested, sort_keys=False, allow_unicode=True, width=100)
        )


def inspect_landing(
    landing_dir: Path, min_valid_date: str, run_date: str | None = None
) -> Inspection:
    started = time.perf_counter()
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist")
    raw_mapping: dict[str, Any] = {}
    mapping_error = None
    try:
        mapping = load_mapping(landing_dir)
        if mapping.source is not None:
            raw_mapping = yaml.safe_load(mapping.source.read_text(encoding="utf-8")) or {}
    except MappingError as exc:
        mapping_error = str(exc)
        mapping = parse_mapping({}, source=None)
    inspection = Inspection(
        landing_dir=landing_dir,
        mapping_file=mapping.source if mapping_error is None else landing_dir / MAPPING_FILE_NAME,
        min_valid_date=min_valid_date,
        entities=[],
        mapping_error=mapping_error,
        raw_mapping=raw_mapping,
    )
    con = duckdb.connect()
    try:
        loaded = {name: _load(con, landing_dir, mapping, name) for name in ENTITIES}
        create_base_views(con, min_valid_date, run_date, mapping_vars=dbt_vars(mapping))
        for inspected in loaded.values():
            if inspected.error is None:
                _judge(con, inspected)
            _maybe_suggest(landing_dir, mapping, inspected, loaded)
            inspection.entities.append(inspected)
    finally:
        con.close()
    inspection.seconds = time.perf_counter() - started
    return inspection


def _load(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, mapping: LandingMapping, name: str
) -> EntityInspection:
    inspected = EntityInspection(entity=name)
    entity_mapping = mapping[name]
    try:
        files = resolve_files(landing_dir, entity_mapping)
        inspected.files = [str(f.relative_to(landing_dir.resolve())) for f in files]
        if files:
            inspected.layout = _layout(
                files[0], detect_format(files, entity_mapping), entity_mapping
            )
        report = load_entity(con, landing_dir, mapping, name, incremental=False)
    except LandingError as exc:
        inspected.error = str(exc)
        create_empty_raw(con, ENTITIES[name])  # keeps the staging views valid
        return inspected
    inspected.rows_read = report.rows_read
    inspected.rows_merged = report.rows_merged
    inspected.notes = list(report.notes)
    if report.derived_order_id:
        inspected.notes.append("no order id column: one is derived per row")
    if report.ignored_columns:
        inspected.notes.append(f"columns not used: {', '.join(report.ignored_columns)}")
    return inspected


def _layout(path: Path, file_format: str, mapping: EntityMapping) -> dict[str, str]:
    if file_format == "parquet":
        return {"format": "parquet"}
    encoding = text_encoding(path, mapping)
    if mapping.widths:
        split = f"fixed widths {list(mapping.widths)}"
    else:
        delimiter = text_delimiter(path, mapping, encoding)
        if delimiter is None:
            delimiter = sniff_delimiter(read_head(path, encoding)[1])[0]
        split = f"delimiter {describe_delimiter(delimiter)}" if delimiter else "one column"
    return {
        "format": "text",
        "encoding": encoding,
        "layout": split,
        "header": "yes" if mapping.header else "no (columns by position)",
    }


def _judge(con: duckdb.DuckDBPyConnection, inspected: EntityInspection) -> None:
    """Typed preview, date range and would-be quarantine from the staging base view."""
    name = inspected.entity
    # The base view recomputes its window functions on every read: type the rows once.
    view = f"_judged_{name}"
    con.execute(f"create or replace temp table {view} as select * from base_landing__{name}")
    entity = ENTITIES[name]
    columns = [c for c in entity.columns if c in _view_columns(con, view)]
    inspected.preview_columns = [*columns, "reject_reason"]
    inspected.preview = con.execute(
        f"select {', '.join(inspected.preview_columns)} from {view} "
        f"order by _source_file, _source_row limit {PREVIEW_ROWS}"
    ).fetchall()
    column = next(iter(entity.timestamp_columns), None)
    span = f"min({column}), max({column})" if column in columns else "null, null"
    inspected.rows_usable, low, high = con.execute(
        f"select count(*), {span} from {view} where reject_reason is null"
    ).fetchall()[0]
    if low is not None:
        inspected.date_range = (str(low.date()), str(high.date()))
    rows = con.execute(
        f"""
        select reason, count(*),
               first(_source_file order by _source_file, _source_row),
               first(_source_row order by _source_file, _source_row)
        from (
            select reject_reason as reason, _source_file, _source_row
            from {view} where reject_reason is not null
            union all
            select 'malformed_row', _source_file, _source_row from raw.{name}_rejects
        )
        group by reason order by 2 desc, 1
        """
    ).fetchall()
    con.execute(f"drop table {view}")
    inspected.quarantine = [ReasonCount(r, n, f, line) for r, n, f, line in rows]


def _view_columns(con: duckdb.DuckDBPyConnection, view: str) -> set[str]:
    return {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_name = ?", [view]
        ).fetchall()
    }


def _maybe_suggest(
    landing_dir: Path,
    mapping: LandingMapping,
    inspected: EntityInspection,
    loaded: dict[str, EntityInspection],
) -> None:
    entity = ENTITIES[inspected.entity]
    unfit = inspected.error is not None or (
        inspected.rows_read > 0
        and inspected.rows_quarantined > SUGGEST_ABOVE_SHARE * inspected.rows_read
    )
    if not unfit:
        return
    files = [landing_dir / f for f in inspected.files]
    if not files and entity.required:
        claimed = {f for e in loaded.values() for f in e.files}
        files = _unclaimed_files(landing_dir, claimed)
    if files:
        inspected.suggestion = suggest_entity_mapping(landing_dir, files[0], mapping[entity.name])


DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".gz", ".parquet")


def _unclaimed_files(landing_dir: Path, claimed: set[str]) -> list[Path]:
    return sorted(
        p
        for p in landing_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in DATA_SUFFIXES
        and str(p.relative_to(landing_dir)) not in claimed
    )


def render(inspection: Inspection) -> str:
    out = [
        f"Landing folder {inspection.landing_dir}",
        f"mapping.yaml: {inspection.mapping_file or 'none (the plain contract)'}",
        f"dates accepted from {inspection.min_valid_date} to today",
    ]
    if inspection.mapping_error:
        out.append(f"  ERROR {inspection.mapping_error}")
    for e in inspection.entities:
        out.append("")
        out.append(f"== {e.entity} ({'required' if ENTITIES[e.entity].required else 'optional'})")
        if not e.files and e.error is None:
            out.append("  no file found")
            continue
        out.append(f"  files: {', '.join(e.files) or 'none'}")
        if e.layout:
            out.append("  " + ", ".join(f"{k}: {v}" for k, v in e.layout.items()))
        if e.error:
            out.append(f"  ERROR {e.error}")
        else:
            merged = f", {e.rows_merged:,} merged into same-time orders" if e.rows_merged else ""
            out.append(
                f"  rows: {e.rows_read:,} read, {e.rows_usable:,} usable, "
                f"{e.rows_quarantined:,} would be quarantined{merged}"
            )
            if e.date_range:
                out.append(f"  dates: {e.date_range[0]} .. {e.date_range[1]}")
            out.extend(f"  note: {n}" for n in e.notes)
            if e.preview:
                out.append(f"  first {len(e.preview)} rows as typed:")
                out.extend(_table(e.preview_columns, e.preview))
            for r in e.quarantine:
                out.append(
                    f"  quarantine {r.reason}: {r.rows:,} row(s), e.g. "
                    f"{r.example_file} line {r.example_line}"
                )
    suggestion = inspection.suggested_mapping_yaml()
    out.append("")
    if suggestion:
        out.append("Suggested mapping.yaml (write it with `insights inspect --write-mapping`):")
        out.extend("  " + line for line in suggestion.splitlines())
    else:
        out.append("The landing files fit the contract and mapping: run `insights run`.")
    out.append(f"(inspected in {inspection.seconds:.1f}s)")
    return "\n".join(out)


def _table(columns: list[str], rows: list[tuple]) -> list[str]:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["    " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["    " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return lines


def _cell(value: object) -> str:
    if value is None:
        return "-"
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."


def write_mapping(inspection: Inspection, force: bool = False) -> Path | None:
    """Write the suggestion to <landing>/mapping.yaml; None when nothing needs changing."""
    text = inspection.suggested_mapping_yaml()
    if text is None:
        return None
    target = inspection.landing_dir / MAPPING_FILE_NAME
    if target.exists() and not force:
        raise FileExistsError(
            f"{target} exists; pass --force to replace it with the suggestion (printed above)"
        )
    target.write_text(text, encoding="utf-8")
    return target
