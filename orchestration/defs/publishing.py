"""Publishing assets: the BI serving database and the marketing audience exports.

Both run last: every upstream check has passed (blocking checks and failed dbt tests stop the
run before them), so a failed or partial refresh never replaces what BI tools and marketing
read.
"""

import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.defs.dbt import dbt_serving_models
from orchestration.defs.gate import DROP_GATE, gate_policy, publish_gate_check
from orchestration.defs.landing import MARKETING_OPS_OWNERS, OWNERS
from orchestration.defs.resources import (
    TRANSIENT_RETRY,
    WAREHOUSE_POOL,
    InsightsConfig,
    PublishGateConfig,
)
from orchestration.defs.warehouse import markdown_table
from orchestration.project import dbt_project
from publishing.exports import ExportPolicy, build_audiences, consenting, write_exports
from publishing.fingerprint import landing_fingerprint
from publishing.serving import SCHEMA, PublishError, PublishRecord, publish_serving_database

GROUP = "publishing"
SERVING_DATABASE = dg.AssetKey(["publish", "serving_database"])
SEGMENT_EXPORTS = dg.AssetKey(["publish", "segment_exports"])
SERVING_TABLES = sorted(key.path[-1] for key in dbt_serving_models.keys if key.path[0] == SCHEMA)
CUSTOMER_360 = dg.AssetKey([SCHEMA, "customer_360"])
CUSTOMERS = dg.AssetKey(["intermediate", "int_customers"])


def _serving_comments() -> dict[str, tuple[str, dict[str, str]]]:
    """Table and column descriptions of the serving models, from the dbt manifest."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return {
        node["name"]: (
            node.get("description", ""),
            {name: col.get("description", "") for name, col in node["columns"].items()},
        )
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == SCHEMA
    }


def _model_versions(con) -> dict[str, str | None]:
    row = con.execute(
        "select any_value(segment_model_version), any_value(churn_model_version) "
        f"from {SCHEMA}.customer_360"
    ).fetchone()
    return {"segmentation": row[0], "churn": row[1]}


@dg.asset(
    key=SERVING_DATABASE,
    deps=[DROP_GATE, *(dg.AssetKey([SCHEMA, table]) for table in SERVING_TABLES)],
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
    description=(
        "The serving database for BI tools (INSIGHTS_SERVING_PATH): the analytics tables and a "
        "publish_log, built under a temporary name, checkpointed, then swapped in with one "
        "atomic rename. Readers never block the refresh and never see a partial refresh. The "
        "publish gate runs first: a drop beyond the allowed share since the last publish keeps "
        "the old file and puts the published models back in use."
    ),
)
def serving_database(
    context: dg.AssetExecutionContext,
    insights: InsightsConfig,
    publish_gate: PublishGateConfig,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    settings = insights.settings()
    with warehouse.get_connection() as con:
        metrics = publish_gate_check(context, con, settings, gate_policy(publish_gate))
        as_of = con.execute(f"select max(as_of_date) from {SCHEMA}.customer_360").fetchone()[0]
        versions = _model_versions(con)
        record = PublishRecord(
            as_of_date=str(as_of)[:10],
            segment_model_version=versions["segmentation"],
            churn_model_version=versions["churn"],
            source_fingerprint=landing_fingerprint(settings.landing_dir),
            gate_metrics=metrics,
        )
        try:
            result = publish_serving_database(
                con, settings.serving_path, SERVING_TABLES, record, _serving_comments()
            )
        except PublishError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
    counts = [{"table": f"{SCHEMA}.{t}", "rows": n} for t, n in result.row_counts.items()]
    return dg.MaterializeResult(
        metadata={
            "serving_path": dg.MetadataValue.path(str(result.path)),
            "publish_id": result.publish_id,
            "as_of_date": record.as_of_date,
            "source_fingerprint": record.source_fingerprint,
            "dagster/row_count": result.row_counts.get("customer_360", 0),
            "tables": dg.MetadataValue.md(markdown_table(pd.DataFrame(counts))),
            "connect": dg.MetadataValue.md(
                f"`duckdb -readonly {result.path}` or, in Python, "
                f"`duckdb.connect('{result.path}', read_only=True)`"
            ),
        }
    )


class ExportConfig(dg.Config):
    """Audience export settings, editable in the launchpad."""

    include_email_sha256: bool = Field(
        default=True, description="Add email_sha256 (SHA-256 of the trimmed, lower-cased e-mail)."
    )
    include_raw_email: bool = Field(
        default=False, description="Add the raw e-mail address (PII: only if you must)."
    )
    consent_when_unknown: bool = Field(
        default=False,
        description="Treat customers without a marketing_opt_in value as consenting.",
    )
    high_value_quantile: float = Field(
        default=0.8, description="At-risk high value: last-year revenue in this top quantile."
    )
    keep_export_dates: int = Field(default=30, description="Export dates to keep on disk.")

    def policy(self) -> ExportPolicy:
        return ExportPolicy(
            include_email_sha256=self.include_email_sha256,
            include_raw_email=self.include_raw_email,
            consent_when_unknown=self.consent_when_unknown,
            high_value_quantile=self.high_value_quantile,
            keep_export_dates=self.keep_export_dates,
        )


@dg.asset(
    key=SEGMENT_EXPORTS,
    # After the serving database: marketing gets audiences only once BI has the same data.
    deps=[CUSTOMER_360, CUSTOMERS, SERVING_DATABASE],
    group_name=GROUP,
    kinds={"csv", "parquet"},
    owners=MARKETING_OPS_OWNERS,
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
    description=(
        "Audience files per as-of date under INSIGHTS_EXPORT_DIR/<as_of>/: one per segment, "
        "at-risk high-value and overdue replenishment, in CSV and Parquet, with a manifest. "
        "Consenting customers only; e-mails only as SHA-256 unless configured."
    ),
)
def segment_exports(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    insights: InsightsConfig,
    publish_gate: PublishGateConfig,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    settings = insights.settings()
    policy = config.policy()
    with warehouse.get_connection() as con:
        # Materialised alone (without the serving database), exports pass the same gate.
        publish_gate_check(context, con, settings, gate_policy(publish_gate))
        customers = con.execute(
            f"""
            select c360.*, customers.email
            from {SCHEMA}.customer_360 as c360
            left join intermediate.int_customers as customers using (customer_id)
            order by c360.customer_id
            """
        ).df()
        versions = _model_versions(con)
    as_of = str(customers["as_of_date"].iloc[0])[:10]
    audiences = build_audiences(customers, policy)
    excluded = int((~consenting(customers, policy)).sum())
    try:
        result = write_exports(audiences, settings.export_dir, as_of, versions, policy, excluded)
    except PublishError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    files = pd.DataFrame(result.files)[["file", "rows", "sha256"]]
    return dg.MaterializeResult(
        metadata={
            "export_folder": dg.MetadataValue.path(str(result.link)),
            "as_of_date": as_of,
            "audiences": len(audiences),
            "customers_without_consent_excluded": excluded,
            "files": dg.MetadataValue.md(markdown_table(files)),
            "manifest": dg.MetadataValue.path(str(result.folder / "manifest.json")),
        }
    )


PUBLISHING_ASSETS = [serving_database, segment_exports]
