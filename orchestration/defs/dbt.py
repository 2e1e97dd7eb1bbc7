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
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from orchestration.defs.landing import OWNERS
from orchestration.defs.resources import WAREHOUSE_POOL, InsightsConfig
from orchestration.defs.warehouse import table_metadata
from orchestration.project import dbt_project

# dbt folder (first level under models/) -> Dagster group.
LAYER_GROUPS = {"staging", "intermediate", "marts", "quarantine"}


class InsightsDbtTranslator(DagsterDbtTranslator):
    """Asset keys are <schema>/<name>; groups follow the dbt folder (the layer)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        if len(fqn) > 2 and fqn[1] in LAYER_GROUPS:
            return fqn[1]
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
        "as_of": settings.as_of,
        "churn_horizon_days": settings.churn_horizon_days,
        "warehouse_path": warehouse.database,
        "run_date": datetime.now(UTC).date().isoformat(),
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
) -> Iterator[Any]:
    invocation = dbt.cli(
        ["build", "--vars", json.dumps(dbt_vars(insights, warehouse))],
        context=context,
        raise_on_error=False,
    )
    # dbt holds the DuckDB write lock until it exits, so table metadata is read afterwards.
    events = list(invocation.stream())
    yield from _with_table_metadata(context, events, warehouse)
    if not invocation.is_successful():
        raise dg.Failure(
            description="dbt build failed; see the failed models/tests above. Downstream "
            "assets were not run.",
            metadata={"dbt_error": str(invocation.get_error())[:4000]},
        )


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
