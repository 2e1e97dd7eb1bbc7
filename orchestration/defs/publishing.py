"""Publishing assets: the BI serving database and the marketing audience exports.

Both run last: every upstream check has passed (blocking checks and failed dbt tests stop the
run before them), so a failed or partial refresh never replaces what BI tools and marketing
read.
"""

import json

import dagster as dg
import duckdb
import pandas as pd
from pydantic import Field

from engines.base import Engine
from orchestration.defs.dbt import dbt_serving_models
from orchestration.defs.engine import EngineResource
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


def _model_versions(engine: Engine) -> dict[str, str | None]:
    row = engine.sql(
        "select max(segment_model_version) as segmentation, max(churn_model_version) as churn "
        f"from {SCHEMA}.customer_360"
    ).iloc[0]
    return {
        kind: None if pd.isna(row[kind]) else str(row[kind]) for kind in ("segmentation", "churn")
    }


class ServingConfig(dg.Config):
    """Serving database settings, editable in the launchpad."""

    max_rows: int = Field(
        default=50_000_000,
        description="Copy the analytics tables to the serving DuckDB file only while they hold "
        "at most this many rows in total (they always stay in the engine, e.g. Spark tables for "
        "Thrift/Databricks SQL clients). Above it the previous file is kept, and the run says so.",
    )


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
    config: ServingConfig,
    insights: InsightsConfig,
    publish_gate: PublishGateConfig,
    engine: EngineResource,
) -> dg.MaterializeResult:
    settings = insights.settings()
    with engine.get_engine() as sql_engine:
        metrics = publish_gate_check(context, sql_engine, settings, gate_policy(publish_gate))
        as_of = sql_engine.sql(f"select max(as_of_date) as as_of from {SCHEMA}.customer_360")
        rows = {table: sql_engine.row_count(f"{SCHEMA}.{table}") for table in SERVING_TABLES}
        if sum(rows.values()) > config.max_rows:
            note = (
                f"not copied to {settings.serving_path}: the analytics tables hold "
                f"{sum(rows.values()):,} rows, above max_rows {config.max_rows:,}; they are "
                "published in the engine only and the previous serving file is unchanged"
            )
            context.log.warning(note)
            return dg.MaterializeResult(
                metadata={"copied_to_serving_file": False, "note": note, **_row_metadata(rows)}
            )
        versions = _model_versions(sql_engine)
        record = PublishRecord(
            as_of_date=str(as_of["as_of"].iloc[0])[:10],
            segment_model_version=versions["segmentation"],
            churn_model_version=versions["churn"],
            source_fingerprint=landing_fingerprint(settings.landing_dir),
            gate_metrics=metrics,
        )
        # The file is built by a DuckDB connection of its own from the engine's Arrow batches.
        builder = duckdb.connect()
        try:
            result = publish_serving_database(
                builder,
                settings.serving_path,
                SERVING_TABLES,
                record,
                _serving_comments(),
                read_batches=sql_engine.arrow_batches,
            )
        except PublishError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        finally:
            builder.close()
    return dg.MaterializeResult(
        metadata={
            "copied_to_serving_file": True,
            "serving_path": dg.MetadataValue.path(str(result.path)),
            "publish_id": result.publish_id,
            "as_of_date": record.as_of_date,
            "source_fingerprint": record.source_fingerprint,
            **_row_metadata(result.row_counts),
            "connect": dg.MetadataValue.md(
                f"`duckdb -readonly {result.path}` or, in Python, "
                f"`duckdb.connect('{result.path}', read_only=True)`"
            ),
        }
    )


def _row_metadata(row_counts: dict[str, int]) -> dict[str, object]:
    counts = [{"table": f"{SCHEMA}.{t}", "rows": n} for t, n in row_counts.items()]
    return {
        "dagster/row_count": row_counts.get("customer_360", 0),
        "tables": dg.MetadataValue.md(markdown_table(pd.DataFrame(counts))),
    }


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
    engine: EngineResource,
) -> dg.MaterializeResult:
    settings = insights.settings()
    policy = config.policy()
    with engine.get_engine() as sql_engine:
        # Materialised alone (without the serving database), exports pass the same gate.
        publish_gate_check(context, sql_engine, settings, gate_policy(publish_gate))
        # The audience files are written here, from the engine's customer_360 (portable SQL).
        customers = sql_engine.sql(
            f"""
            select c360.*, customers.email
            from {SCHEMA}.customer_360 as c360
            left join intermediate.int_customers as customers
                on customers.customer_id = c360.customer_id
            order by c360.customer_id
            """
        )
        versions = _model_versions(sql_engine)
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
