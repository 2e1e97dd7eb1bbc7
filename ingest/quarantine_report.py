"""What went wrong with the landing rows, said where it went wrong.

When most of an entity's rows land in quarantine the mapping does not fit the file (wrong
delimiter, date format, decimal separator, a date floor after the history). The refresh stops
before the models (dbt test quarantine_share_within_limit) and this module writes the message:
the file, the top reasons with counts and one example line each, and the `mapping.yaml` key
that most likely fixes it. Only reason codes, file names and line numbers are quoted, never a
row's values: customer data must not reach the logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from engines.base import Engine
from engines.duckdb_engine import DuckDBEngine
from ingest.contract import ENTITIES
from ingest.landing import RAW_SCHEMA
from ingest.mapping import MAPPING_FILE_NAME

QUARANTINE_SCHEMA = "quarantine"
TOP_REASONS = 3


def likely_fix(entity: str, reason_code: str) -> str:
    """The setting that most likely turns rows with this reason into usable rows."""
    timestamp = (ENTITIES[entity].timestamp_columns or ("date",))[0]
    fixes = {
        "malformed_row": f"`{entity}.delimiter` (or `{entity}.encoding`) in {MAPPING_FILE_NAME}",
        "unparseable_date": f"`{entity}.date_format` in {MAPPING_FILE_NAME} (e.g. '%Y%m%d')",
        "date_too_old": f"`{entity}.min_date` in {MAPPING_FILE_NAME} or INSIGHTS_MIN_VALID_DATE",
        "placeholder_date": f"`{entity}.columns.{timestamp}` in {MAPPING_FILE_NAME} (is it the "
        "right column?) or fill the placeholder dates at the source",
        "future_date": f"INSIGHTS_AS_OF (data dated after today) or `{entity}.date_format` "
        "(day and month swapped?)",
        "missing_date": f"`{entity}.columns.{timestamp}` in {MAPPING_FILE_NAME}",
        "missing_customer_id": f"`{entity}.columns.customer_id` in {MAPPING_FILE_NAME}",
        "missing_order_id": f"`{entity}.columns.order_id` in {MAPPING_FILE_NAME}",
        "missing_event_type": f"`{entity}.columns.event_type` in {MAPPING_FILE_NAME}",
        "missing_amount": f"`{entity}.columns.amount` in {MAPPING_FILE_NAME}",
        "unparseable_amount": f"`{entity}.decimal_separator` in {MAPPING_FILE_NAME}",
        "negative_amount": f"`{entity}.status_values` in {MAPPING_FILE_NAME} (refund statuses)",
        "unknown_status": f"`{entity}.status_values` in {MAPPING_FILE_NAME}",
        "duplicate_order_id": f"`{entity}.columns.order_id` in {MAPPING_FILE_NAME} (one row per "
        "order? a file of order lines belongs under order_items)",
        "duplicate_customer_id": f"`{entity}.columns.customer_id` in {MAPPING_FILE_NAME}",
        "unparseable_quantity": f"`{entity}.columns.quantity` in {MAPPING_FILE_NAME}",
        "invalid_quantity": f"`{entity}.columns.quantity` in {MAPPING_FILE_NAME}",
        "unknown_order_id": "the orders file first (lines of quarantined orders follow them), "
        f"or `{entity}.columns.order_id` in {MAPPING_FILE_NAME}",
    }
    return fixes.get(reason_code, f"the `{entity}` section of {MAPPING_FILE_NAME}")


@dataclass(frozen=True)
class ReasonCount:
    reason_code: str
    rows: int
    example_file: str
    example_line: int


@dataclass(frozen=True)
class EntityQuarantine:
    entity: str
    rows_in: int
    rows_quarantined: int
    files: tuple[str, ...]  # files with quarantined rows, most first
    top_reasons: tuple[ReasonCount, ...]

    @property
    def share(self) -> float:
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0

    @property
    def table(self) -> str:
        return f"{QUARANTINE_SCHEMA}.quarantine_{self.entity}"

    def summary(self) -> str:
        """One clause for downstream errors: how much of the entity was quarantined and why."""
        reason = f", mostly {self.top_reasons[0].reason_code}" if self.top_reasons else ""
        return (
            f"{self.share:.0%} of {self.entity} rows ({self.rows_quarantined:,} of "
            f"{self.rows_in:,}) were quarantined{reason} (see {self.table})"
        )

    def describe(self, max_share: float) -> str:
        """The full message: file, top reasons with counts and an example line, the fix."""
        files = ", ".join(self.files) or "(no file)"
        lines = [
            f"{self.entity}: {self.rows_quarantined:,} of {self.rows_in:,} rows "
            f"({self.share:.0%}) were quarantined, more than the {max_share:.0%} allowed "
            f"(INSIGHTS_MAX_QUARANTINE_SHARE). File: {files}. Top reasons:"
        ]
        for reason in self.top_reasons:
            lines.append(
                f"  - {reason.reason_code}: {reason.rows:,} rows (e.g. {reason.example_file} "
                f"line {reason.example_line}); likely fix: "
                f"{likely_fix(self.entity, reason.reason_code)}"
            )
        lines.append(f"  The rows and their reasons are in {self.table}.")
        return "\n".join(lines)


def entity_quarantine(
    source: duckdb.DuckDBPyConnection | Engine, entity: str
) -> EntityQuarantine | None:
    """The quarantine of one entity as the last build left it (None: not built or no rows).
    `source`: the warehouse connection, or the run's engine (the same SQL runs on Spark)."""
    engine = DuckDBEngine(source) if isinstance(source, duckdb.DuckDBPyConnection) else source
    table = f"{QUARANTINE_SCHEMA}.quarantine_{entity}"
    if not engine.table_exists(table) or not engine.table_exists(f"{RAW_SCHEMA}.{entity}_load"):
        return None
    rows_in = _rows(
        engine,
        f"select coalesce(sum(rows_read - rows_suppressed), 0) from {RAW_SCHEMA}.{entity}_load",
    )[0][0]
    if not rows_in:
        return None
    # Per reason: its rows and the first (file, line) it occurs at.
    reasons = _rows(
        engine,
        f"""
        select reason_code, n, source_file, source_row
        from (
            select reason_code, source_file, source_row,
                   count(*) over (partition by reason_code) as n,
                   row_number() over (
                       partition by reason_code
                       order by source_file nulls last, source_row nulls last
                   ) as position
            from {table}
        ) as ranked
        where position = 1
        order by n desc, reason_code
        """,
    )
    files = _rows(
        engine,
        f"select source_file from {table} "
        "group by source_file order by count(*) desc, source_file nulls last",
    )
    return EntityQuarantine(
        entity=entity,
        rows_in=int(rows_in),
        rows_quarantined=sum(int(n) for _, n, _, _ in reasons),
        files=tuple(_file_name(f) for (f,) in files),
        top_reasons=tuple(
            ReasonCount(code, int(n), _file_name(file), int(line))
            for code, n, file, line in reasons[:TOP_REASONS]
        ),
    )


def _rows(engine: Engine, query: str) -> list[tuple]:
    """The query's rows as tuples, SQL nulls as None."""
    frame = engine.sql(query)
    return [
        tuple(None if pd.isna(value) else value for value in row)
        for row in frame.itertuples(index=False, name=None)
    ]


def _file_name(path: str | None) -> str:
    return Path(path).name if path else "(unknown file)"


def quarantine_overview(con: duckdb.DuckDBPyConnection | Engine) -> list[EntityQuarantine]:
    """Every entity with loaded rows, in contract order."""
    found = (entity_quarantine(con, name) for name in ENTITIES)
    return [q for q in found if q is not None]


def over_limit(con: duckdb.DuckDBPyConnection | Engine, max_share: float) -> list[EntityQuarantine]:
    """The entities with more than `max_share` of their rows quarantined."""
    return [q for q in quarantine_overview(con) if q.share > max_share]


def quarantine_failure_message(entities: list[EntityQuarantine], max_share: float) -> str:
    """Why the refresh stopped at the load, for the Dagster failure and the CLI."""
    parts = [
        "Stopped after loading: too many rows could not be used, so no model was rebuilt (the "
        "previous scores, serving database and exports are unchanged)."
    ]
    parts += [q.describe(max_share) for q in entities]
    parts.append(
        "Fix the setting named above (or raise INSIGHTS_MAX_QUARANTINE_SHARE if these rows are "
        "truly unusable) and run again."
    )
    return "\n".join(parts)


def upstream_cause(con: duckdb.DuckDBPyConnection, min_share: float = 0.05) -> str:
    """A sentence naming quarantined input behind an empty or thin downstream table, or ''."""
    notable = [q for q in quarantine_overview(con) if q.share > min_share]
    if not notable:
        return ""
    return "Upstream: " + "; ".join(q.summary() for q in notable) + "."
