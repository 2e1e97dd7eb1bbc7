"""Landing files (external assets) and the raw tables loaded from them.

Lineage in the asset graph starts at the files: ``landing/orders`` (the file(s) on disk) ->
``raw/orders`` (the loaded table) -> dbt staging -> marts -> models.
"""

import dagster as dg

from engines.base import Engine
from ingest.contract import ENTITIES, Entity
from ingest.landing import (
    RAW_SCHEMA,
    SUPPRESSED_EMAILS,
    LandingError,
    LoadReport,
)
from ingest.mapping import MappingError, load_mapping
from orchestration.defs.engine import EngineResource, engine_table_metadata
from orchestration.defs.resources import (
    DAILY_FRESHNESS,
    TRANSIENT_RETRY,
    WAREHOUSE_POOL,
    InsightsConfig,
)
from orchestration.defs.warehouse import ensure_parent
from privacy.suppression import SuppressionList

# Owners by domain: data engineering for ingest, dbt models, serving and privacy; data science
# for the ML assets; marketing ops for the audience exports.
OWNERS = ["team:data-engineering"]
DATA_SCIENCE_OWNERS = ["team:data-science"]
MARKETING_OPS_OWNERS = ["team:marketing-ops"]


def landing_key(entity: Entity) -> dg.AssetKey:
    return dg.AssetKey(["landing", entity.name])


LANDING_FILES = [
    dg.AssetSpec(
        key=landing_key(entity),
        group_name="landing",
        description=(
            f"{entity.description} Landing file(s) under INSIGHTS_LANDING_DIR "
            f"({'required' if entity.required else 'optional'}); contract columns: "
            f"{', '.join(entity.columns)}. Renamed or reshaped through mapping.yaml."
        ),
        kinds={"file"},
        owners=OWNERS,
        metadata={"contract_columns": list(entity.columns), "required": entity.required},
    )
    for entity in ENTITIES.values()
]


def _load_report_metadata(report: LoadReport) -> dict[str, object]:
    return {
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_rejected_by_parser": report.rows_rejected,
        "rows_of_erased_customers_dropped": report.rows_suppressed,
        # mapping.yaml merge_same_time_rows: rows folded into one order per customer and time.
        "rows_merged_same_time": report.rows_merged,
        "files": dg.MetadataValue.md(
            "\n".join(f"- `{f}`" for f in report.files) or "_no file: table left empty_"
        ),
        "file_format": report.file_format or "none",
        # full / append (only new files read) / unchanged: what the daily refresh cost.
        "load_mode": report.mode,
        "files_read": report.files_read,
        "missing_optional_columns": ", ".join(report.missing_optional_columns) or "none",
        "ignored_columns": ", ".join(report.ignored_columns) or "none",
        "derived_order_id": report.derived_order_id,
        "notes": "; ".join(report.notes) or "none",
    }


def _remember_erased_emails(engine: Engine, suppression_list: SuppressionList) -> None:
    """E-mails of the customer rows the loader dropped as erased join the suppression list, so
    the person stays out (and out of exports) when they come back under a new id."""
    if not engine.table_exists(SUPPRESSED_EMAILS):
        return
    keys = set(engine.read_table(SUPPRESSED_EMAILS, ["email_key"])["email_key"].dropna())
    suppression_list.add_email_keys(keys, source="customers load")


def _raw_asset(entity: Entity) -> dg.AssetsDefinition:
    deps = [landing_key(entity)]
    if entity.name == "order_items":
        # Erased customers' order lines are found through their orders, loaded first.
        deps.append(dg.AssetKey([RAW_SCHEMA, "orders"]))

    @dg.asset(
        name=entity.name,
        key_prefix=RAW_SCHEMA,
        deps=deps,
        group_name="raw",
        kinds={"duckdb"},
        owners=OWNERS,
        pool=WAREHOUSE_POOL,
        retry_policy=TRANSIENT_RETRY,
        freshness_policy=DAILY_FRESHNESS,
        description=(
            f"raw.{entity.name}: the {entity.name} landing rows mapped onto the contract, "
            f"untyped, with source file and line. Unparseable CSV lines go to "
            f"raw.{entity.name}_rejects."
        ),
    )
    def load_raw(
        context: dg.AssetExecutionContext, insights: InsightsConfig, engine: EngineResource
    ) -> dg.MaterializeResult:
        try:
            settings = insights.settings()
            landing_dir = settings.landing_dir
            mapping = load_mapping(landing_dir)
        except MappingError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        ensure_parent(engine.warehouse.database)
        with engine.get_engine() as sql_engine:
            try:
                suppression_list = SuppressionList(settings.privacy_dir)
                suppression = suppression_list.loader_filter()
                report = sql_engine.load_landing(landing_dir, mapping, entity.name, suppression)
            except LandingError as exc:
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
            if entity.name == "customers":
                _remember_erased_emails(sql_engine, suppression_list)
            metadata = engine_table_metadata(sql_engine, RAW_SCHEMA, entity.name)
        for note in report.notes:
            context.log.info(note)
        if report.rows_rejected:
            context.log.warning(
                f"{report.rows_rejected} {entity.name} line(s) could not be parsed; they are in "
                f"raw.{entity.name}_rejects and quarantine.quarantine_{entity.name}"
            )
        return dg.MaterializeResult(metadata={**metadata, **_load_report_metadata(report)})

    return load_raw


RAW_ASSETS = [_raw_asset(entity) for entity in ENTITIES.values()]
