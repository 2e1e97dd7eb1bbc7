"""Right to erasure in the pipeline: the forget job and the erasure step of every refresh.

`forget_customers` (or `insights forget`) only adds salted hashes to the suppression list. The
next refresh then applies it: the raw loader drops the customers' rows (so nothing downstream
is built from them, and re-ingested rows stay out), this asset deletes them from the history
tables and rewrites past exports, the serving database is rebuilt without them, and at the end
of the refresh the warehouse file is rewritten so their deleted rows leave its bytes too.
"""

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from ingest.identifiers import normalise_id
from ingest.landing import Suppression
from orchestration.defs.landing import OWNERS
from orchestration.defs.prediction import CHURN_SCORES
from orchestration.defs.publishing import SEGMENT_EXPORTS, SERVING_DATABASE
from orchestration.defs.resources import WAREHOUSE_POOL, InsightsConfig
from orchestration.defs.segmentation import CUSTOMER_SEGMENTS, ERASED_HISTORY
from orchestration.settings import duckdb_memory_limit
from privacy.compaction import (
    compacted_digest,
    list_digest,
    mark_compacted,
    remove_stale_rewrites,
    rewrite_database,
)
from privacy.suppression import SuppressionList
from publishing.exports import purge_customers

# Tables that accumulate rows across refreshes; everything else is rebuilt from raw each time.
HISTORY_TABLES = ("ml.segment_history", "ml.score_history")
COMPACTED_WAREHOUSE = dg.AssetKey(["privacy", "compacted_warehouse"])


@dg.asset(
    key=ERASED_HISTORY,
    deps=[CUSTOMER_SEGMENTS, CHURN_SCORES],
    group_name="privacy",
    kinds={"duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Applies the suppression list to what is not rebuilt from raw each refresh: deletes "
        "erased customers from ml.segment_history and ml.score_history and rewrites past "
        "exports without them (matched by id or by e-mail hash). Logs what was erased, per "
        "hash, in the erasure log."
    ),
)
def erased_history(
    context: dg.AssetExecutionContext, insights: InsightsConfig, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    settings = insights.settings()
    suppression = SuppressionList(settings.privacy_dir)
    loader_filter = suppression.loader_filter()
    if loader_filter is None:
        return dg.MaterializeResult(metadata={"erased_customers": 0})
    history: Counter[str] = Counter()
    removed: dict[str, int] = {}
    with warehouse.get_connection() as con:
        loader_filter.register(con)
        existing = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        matched = _matching_hash_sql(loader_filter, "customer_id")
        for table in HISTORY_TABLES:
            if table not in existing:
                continue
            per_hash = con.execute(
                f"select matched, count(*) from (select {matched} as matched from {table}) "
                "where matched is not null group by matched"
            ).fetchall()
            history.update(dict(per_hash))
            removed[table] = con.execute(
                f"delete from {table} where {loader_filter.erased_id_sql('customer_id')}"
            ).fetchone()[0]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    exported: Counter[str] = Counter()
    exports = purge_customers(
        settings.export_dir,
        _export_matcher(suppression, exported),
        note=f"erased customers removed at {now}",
    )
    history_rows = sum(removed.values())
    export_rows = sum(exports.values())
    applied = sorted(set(history) | set(exported))
    if applied:
        suppression.log(
            [
                (h, "applied", now, f"history rows {history[h]}, export rows {exported[h]}")
                for h in applied
            ]
        )
    context.log.info(
        f"Erasure: {len(suppression.hashes())} customers on the list; removed {removed}, "
        f"export rows per date {exports}"
    )
    return dg.MaterializeResult(
        metadata={
            "erased_customers": len(suppression.hashes()),
            "erased_emails_known": len(suppression.email_keys()),
            "history_rows_removed": history_rows,
            "export_rows_removed": export_rows,
            "export_dates_rewritten": len(exports),
        }
    )


def _matching_hash_sql(suppression: Suppression, column: str) -> str:
    """The list entry `column` matches (under the first scheme that matches), else null."""
    cases = " ".join(
        f"when {suppression.hash_sql(column, scheme)} in "
        f"(select customer_hash from _suppressed_customers) "
        f"then {suppression.hash_sql(column, scheme)}"
        for scheme in suppression.id_schemes
    )
    return f"(case {cases} end)"


def _export_matcher(
    suppression: SuppressionList, counts: Counter[str]
) -> Callable[[pd.DataFrame], pd.Series]:
    """Export rows of erased customers, by id or by e-mail hash; counts rows per list entry."""
    entries = suppression.entries()
    schemes = suppression.id_schemes()
    salt = suppression.salt_hex()
    by_id: dict[str, str | None] = {}

    def id_entry(customer_id: str) -> str | None:
        if customer_id not in by_id:
            hashes = (
                hashlib.sha256((salt + normalise_id(customer_id, scheme)).encode()).hexdigest()
                for scheme in schemes
            )
            by_id[customer_id] = next((h for h in hashes if h in entries), None)
        return by_id[customer_id]

    def email_entry(email_hash: object) -> str | None:
        if not isinstance(email_hash, str) or not email_hash:
            return None
        key = suppression.email_key(email_hash)
        return key if key in entries else None

    def erased(rows: pd.DataFrame) -> pd.Series:
        matched = rows["customer_id"].astype(str).map(id_entry)
        if "email_sha256" in rows.columns:
            matched = matched.fillna(rows["email_sha256"].map(email_entry))
        counts.update(matched.dropna())
        return matched.notna()

    return erased


@dg.asset(
    key=COMPACTED_WAREHOUSE,
    # Last: nothing else may have the warehouse open while it is rewritten.
    deps=[ERASED_HISTORY, SERVING_DATABASE, SEGMENT_EXPORTS],
    group_name="privacy",
    kinds={"duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "After the suppression list changed: rewrites the warehouse file into a fresh copy, so "
        "erased customers' deleted rows are gone from its bytes (DuckDB otherwise keeps them "
        "in free blocks). Skipped while the list is unchanged."
    ),
)
def compacted_warehouse(
    context: dg.AssetExecutionContext, insights: InsightsConfig, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    settings = insights.settings()
    suppression = SuppressionList(settings.privacy_dir)
    path = Path(warehouse.database)
    remove_stale_rewrites(path)
    entries = suppression.entries()
    digest = list_digest(entries)
    if not entries or compacted_digest(settings.privacy_dir) == digest or not path.exists():
        return dg.MaterializeResult(metadata={"rewritten": False})
    before, after = rewrite_database(path, duckdb_memory_limit())
    mark_compacted(settings.privacy_dir, digest)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    suppression.log([(h, "warehouse_rewritten", now, path.name) for h in sorted(entries)])
    context.log.info(f"Rewrote {path} without deleted data: {before:,} -> {after:,} bytes")
    return dg.MaterializeResult(
        metadata={"rewritten": True, "bytes_before": before, "bytes_after": after}
    )


class ForgetConfig(dg.Config):
    customer_ids: list[str] = Field(description="Ids of the customers to erase.")


@dg.op(description="Add customers to the suppression list (hashed); the next refresh erases them.")
def add_to_suppression_list(
    context: dg.OpExecutionContext, config: ForgetConfig, insights: InsightsConfig
) -> None:
    new = SuppressionList(insights.settings().privacy_dir).forget(
        config.customer_ids, source="dagster job forget_customers"
    )
    already = len(config.customer_ids) - len(new)
    context.log.info(
        f"{len(new)} new customer(s) on the suppression list ({already} already there); "
        "they disappear at the next refresh"
    )


@dg.job(description="Right to erasure: forget customers from the next refresh on.")
def forget_customers() -> None:
    add_to_suppression_list()


PRIVACY_ASSETS = [erased_history, compacted_warehouse]
PRIVACY_JOBS = [forget_customers]
