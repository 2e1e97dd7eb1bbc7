"""What a user reads after a refresh: the results in a few lines, where everything is, and row
counts of the output tables. Results come from the serving database (what BI sees); quarantine
counts and the top cross-sell from the warehouse, opened read-only."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from orchestration.settings import Settings

# Schemas whose tables are outputs (raw/staging/intermediate are plumbing).
OUTPUT_SCHEMAS = ("marts", "quarantine", "ml", "analytics")


def output_table_counts(warehouse_path: Path) -> list[tuple[str, int]]:
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by table_schema, table_name",
            [list(OUTPUT_SCHEMAS)],
        ).fetchall()
        return [
            (
                f"{schema}.{name}",
                con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0],
            )
            for schema, name in tables
        ]
    finally:
        con.close()


def result_lines(settings: Settings) -> list[str]:
    """As-of date, customers, buyers, segments, churn risk, the top cross-sell, quarantine."""
    if not settings.serving_path.exists():
        return [f"No serving database at {settings.serving_path} (nothing published yet)."]
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        as_of, customers, buyers, high, high_value = con.execute(
            "select max(as_of_date), count(*), count(*) filter (where frequency > 0), "
            "count(*) filter (where risk_tier = 'high'), "
            "coalesce(sum(value_12m) filter (where risk_tier = 'high'), 0) "
            "from analytics.customer_360"
        ).fetchone()
        segments = con.execute(
            "select segment_id, segment_name, customers, share from analytics.segment_summary "
            "order by customers desc, segment_id"
        ).fetchall()
    finally:
        con.close()
    lines = [
        f"As of {as_of:%Y-%m-%d}: {customers:,} customers, {buyers:,} buyers, "
        f"{len(segments)} segments:"
    ]
    lines += [
        f"  {size:>9,}  {share:>4.0%}  {name} (segment {segment_id})"
        for segment_id, name, size, share in segments
    ]
    lines.append(
        f"High churn risk: {high:,} customers, predicted 12-month value {high_value:,.0f} "
        "(analytics.customer_360, risk_tier = 'high')"
    )
    lines += _warehouse_lines(settings.warehouse_path)
    return lines


def _warehouse_lines(warehouse_path: Path) -> list[str]:
    try:
        con = duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.Error as exc:  # a refresh holds the write lock
        return [f"Warehouse busy, cross-sell and quarantine not shown: {str(exc).splitlines()[0]}"]
    try:
        lines = []
        top = con.execute(
            "select category, segment_name, target_customers, expected_buyers, best_antecedent "
            "from ml.segment_cross_sell order by expected_buyers desc, segment_id limit 1"
        ).fetchone()
        if top:
            category, segment, targets, expected, antecedent = top
            lines.append(
                f"Top cross-sell: {category} for {targets:,} customers of '{segment}' who bought "
                f"{antecedent} (about {expected:,.0f} expected buyers)"
            )
        else:
            lines.append("Top cross-sell: none found (ml.segment_cross_sell is empty)")
        lines.append("Quarantined: " + quarantine_text(con))
        return lines
    finally:
        con.close()


def quarantine_text(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "select entity, rows_read, rows_quarantined from quarantine.load_audit order by entity"
    ).fetchall()
    bad = [(entity, read, quarantined) for entity, read, quarantined in rows if quarantined]
    if not bad:
        read = sum(r for _, r, _ in rows)
        return f"nothing ({read:,} rows read, all usable)"
    return (
        ", ".join(f"{entity} {quarantined:,} of {read:,} rows" for entity, read, quarantined in bad)
        + " (reasons in quarantine.quarantine_<entity>)"
    )


def last_publish_line(serving_path: Path) -> str:
    if not serving_path.exists():
        return "Last publish: never"
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        row = con.execute(
            "select published_at, as_of_date, row_counts from analytics.publish_log "
            "order by published_at desc limit 1"
        ).fetchone()
        publishes = con.execute("select count(*) from analytics.publish_log").fetchone()[0]
    finally:
        con.close()
    if row is None:
        return "Last publish: never"
    published_at, as_of, counts = row
    tables = len(json.loads(counts)) if counts else 0
    return (
        f"Last publish: {published_at:%Y-%m-%d %H:%M} UTC, as of {as_of:%Y-%m-%d}, "
        f"{tables} tables (entry {publishes} of analytics.publish_log)"
    )


def location_lines(settings: Settings, log_path: Path | None = None) -> list[str]:
    exports = settings.export_dir
    latest = sorted(p for p in exports.glob("[0-9]*") if p.is_dir()) if exports.exists() else []
    places = {
        "serving (BI)": settings.serving_path,
        "exports": latest[-1] if latest else exports,
        "reports": settings.report_dir,
        "models": settings.model_dir,
        **({"run log": log_path} if log_path is not None else {}),
        "warehouse (pipeline only)": settings.warehouse_path,
    }
    home = settings.warehouse_path.parent
    if all(path.is_relative_to(home) for path in places.values()):
        # The usual layout, everything beside the warehouse: one line of relative names.
        names = [f"{label}: {path.relative_to(home)}" for label, path in places.items()]
        pairs = ["   ".join(names[i : i + 2]) for i in range(0, len(names), 2)]
        lines = [f"Files in {home}:", *(f"  {pair}" for pair in pairs)]
    else:
        lines = ["Files:", *(f"  {label:<26}{path}" for label, path in places.items())]
    return [
        *lines,
        'Query serving read-only: insights sql "select * from analytics.segment_summary"',
        f"  or duckdb.connect('{settings.serving_path}', read_only=True)",
        "Dagster UI over the same runs: make ui, then http://127.0.0.1:3000",
    ]
