"""Right to erasure in the pipeline: the forget job and the erasure step of every refresh.

`forget_customers` (or `insights forget`) only adds salted hashes to the suppression list. The
next refresh then applies it: the raw loader drops the customers' rows (so nothing downstream
is built from them, and re-ingested rows stay out), this asset deletes them from the history
tables and rewrites past exports, and the serving database is rebuilt without them.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.defs.landing import OWNERS
from orchestration.defs.prediction import CHURN_SCORES
from orchestration.defs.resources import WAREHOUSE_POOL, InsightsConfig
from orchestration.defs.segmentation import CUSTOMER_SEGMENTS, ERASED_HISTORY
from privacy.suppression import SuppressionList, salted_hash_sql
from publishing.exports import purge_customers

# Tables that accumulate rows across refreshes; everything else is rebuilt from raw each time.
HISTORY_TABLES = ("ml.segment_history", "ml.score_history")


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
        "exports without them. Logs what was erased, keyed by hash, in the erasure log."
    ),
)
def erased_history(
    context: dg.AssetExecutionContext, insights: InsightsConfig, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    settings = insights.settings()
    suppression = SuppressionList(settings.privacy_dir)
    hashes = suppression.hashes()
    if not hashes:
        return dg.MaterializeResult(metadata={"erased_customers": 0})
    salt = suppression.salt_hex()
    removed: dict[str, int] = {}
    with warehouse.get_connection() as con:
        con.register("_erased", pd.DataFrame({"customer_hash": sorted(hashes)}, dtype="string"))
        existing = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        for table in HISTORY_TABLES:
            if table in existing:
                removed[table] = con.execute(
                    f"delete from {table} where {salted_hash_sql('customer_id', salt)} "
                    "in (select customer_hash from _erased)"
                ).fetchone()[0]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    exports = purge_customers(
        settings.export_dir,
        lambda ids: ids.map(suppression.hash).isin(hashes),
        note=f"erased customers removed at {now}",
    )
    history_rows = sum(removed.values())
    export_rows = sum(exports.values())
    if history_rows or export_rows:
        details = f"history rows {history_rows}, export rows {export_rows}"
        suppression.log([(h, "applied", now, details) for h in sorted(hashes)])
    context.log.info(f"Erasure: {len(hashes)} customers on the list; removed {removed}, {exports}")
    return dg.MaterializeResult(
        metadata={
            "erased_customers": len(hashes),
            "history_rows_removed": history_rows,
            "export_rows_removed": export_rows,
            "export_dates_rewritten": len(exports),
        }
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


PRIVACY_ASSETS = [erased_history]
PRIVACY_JOBS = [forget_customers]
