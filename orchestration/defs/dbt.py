"""The dbt project as Dagster assets: staging, intermediate, marts, quarantine, reference seeds.

dbt tests become asset checks; an error-severity failure makes `dbt build` skip what depends on
the tested model and fails this step, so no Python asset downstream runs on bad data.
"""

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from ingest.mapping import dbt_vars as mapping_dbt_vars
from ingest.mapping import load_mapping
from ingest.quarantine_report import over_limit, quarantine_failure_message
from orchestration.defs.landing import OWNERS
from orchestration.defs.resources import (
    DAILY_FRESHNESS,
    TRANSIENT_RETRY,
    WAREHOUSE_POOL,
    InsightsConfig,
)
from orchestration.defs.warehouse import table_metadata
from orchestration.project import dbt_project
from publishing.failpoints import failpoint

# dbt folder (first level under models/) -> Dagster group.
LAYER_GROUPS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "marts",
    "quarantine": "quarantine",
    "serving": "publishing",
}
# The serving models read the ML tables, so they run as a second dbt step after the models.
SERVING_SELECTION = "path:models/serving"


# Feature marts and the BI tables: stale means the daily refresh is not running.
FRESHNESS_WATCHED = {("marts", "customer_features"), ("analytics", "customer_360")}


class InsightsDbtTranslator(DagsterDbtTranslator):
    """Asset keys are <schema>/<name>; groups follow the dbt folder (the layer)."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if tuple(spec.key.path) in FRESHNESS_WATCHED:
            return spec.replace_attributes(freshness_policy=DAILY_FRESHNESS)
        return spec

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        if len(fqn) > 2 and fqn[1] in LAYER_GROUPS:
            return LAYER_GROUPS[fqn[1]]
        return super().get_group_name(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return OWNERS

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {
            **super().get_tags(dbt_resource_props),
            "layer": str(self.get_group_name(dbt_resource_props)),
        }


translator = InsightsDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        # raw.orders and raw.orders_rejects are both written by the raw/orders asset.
        enable_duplicate_source_asset_keys=True,
    )
)


def dbt_vars(insights: InsightsConfig, warehouse: DuckDBResource) -> dict[str, Any]:
    settings = insights.settings()
    return {
        # Per-entity settings of mapping.yaml (min_date, ...); the raw assets validated it.
        **mapping_dbt_vars(load_mapping(settings.landing_dir)),
        "as_of": settings.as_of,
        "churn_horizon_days": settings.churn_horizon_days,
        "warehouse_path": warehouse.database,
        "run_date": datetime.now(UTC).date().isoformat(),
        "min_valid_date": settings.min_valid_date,
        "max_quarantine_share": settings.max_quarantine_share,
    }


class DbtBuildConfig(dg.Config):
    """Launchpad settings of the dbt models step."""

    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental models (typed events, daily activity) from the raw "
        "tables instead of updating them with new load batches: after changing how rows are "
        "parsed, or when dbt says an incremental model's columns changed.",
    )


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
    full_refresh: bool = False,
) -> Iterator[Any]:
    invocation = dbt.cli(
        [
            "build",
            "--vars",
            json.dumps(dbt_vars(insights, warehouse)),
            *(["--full-refresh"] if full_refresh else []),
        ],
        context=context,
        raise_on_error=False,
    )
    failpoint("dbt:started")
    # dbt holds the DuckDB write lock until it exits, so table metadata is read afterwards.
    events = list(invocation.stream())
    yield from _with_table_metadata(context, events, warehouse)
    if not invocation.is_successful():
        error = str(invocation.get_error())
        _raise_if_too_much_quarantined(insights, warehouse)
        raise dg.Failure(
            description="dbt build failed; see the failed models/tests above. Downstream "
            "assets were not run.",
            metadata={"dbt_error": error[:4000]},
            # Only a lock held by another process is worth retrying; a failed test is not.
            allow_retries="Could not set lock" in error,
        )


def _raise_if_too_much_quarantined(insights: InsightsConfig, warehouse: DuckDBResource) -> None:
    """A build stopped by the quarantine share test fails with what went wrong and where."""
    share = insights.settings().max_quarantine_share
    with warehouse.get_connection() as con:
        entities = over_limit(con, share)
    if entities:
        raise dg.Failure(
            description=quarantine_failure_message(entities, share),
            metadata={
                f"quarantined_share_{q.entity}": dg.MetadataValue.float(round(q.share, 4))
                for q in entities
            },
            allow_retries=False,
        )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=SERVING_SELECTION,
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
)
def dbt_models(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    dbt: DbtCliResource,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
) -> Iterator[Any]:
    """Staging, quarantine, intermediate and marts models, seeds and their tests."""
    yield from _build(context, dbt, insights, warehouse, config.full_refresh)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=SERVING_SELECTION,
    name="dbt_serving_models",
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
)
def dbt_serving_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
) -> Iterator[Any]:
    """The analytics tables for BI (customer_360, segment_summary, ...), built from the marts
    and the ML outputs; the publish asset copies them into the serving database."""
    yield from _build(context, dbt, insights, warehouse)


def _with_table_metadata(
    context: dg.AssetExecutionContext, events: list[Any], warehouse: DuckDBResource
) -> Iterator[Any]:
    manifest = dbt_project.manifest_path
    nodes = _manifest_columns(json.loads(manifest.read_text()))
    with warehouse.get_connection() as con:
        tables = {
            (schema, name)
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE'"
            ).fetchall()
        }
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
            elif isinstance(event, dg.AssetMaterialization):
                key = event.asset_key
            else:
                key = None
            if key is not None:
                relation = tuple(key.path)
                if relation in tables:
                    extra = table_metadata(con, *relation, descriptions=nodes.get(relation))
                    event = event.with_metadata({**event.metadata, **extra})
            yield event


def _manifest_columns(manifest: dict[str, Any]) -> dict[tuple[str, ...], dict[str, str]]:
    """(schema, name) -> {column: description} for every model and seed."""
    return {
        (node["schema"], node["name"]): {
            name: column.get("description", "") for name, column in node["columns"].items()
        }
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    }
