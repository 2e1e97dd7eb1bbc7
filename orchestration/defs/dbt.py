"""The dbt project as Dagster assets: staging, intermediate, marts, quarantine, reference seeds.

dbt tests become asset checks; an error-severity failure makes `dbt build` skip what depends on
the tested model and fails this step, so no Python asset downstream runs on bad data.
"""

import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
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
from orchestration.defs.behaviour import behaviour_metadata
from orchestration.defs.dbt_in_process import PARTIAL_PARSE_FILE, keep_partial_parse
from orchestration.defs.engine import EngineResource, engine_table_metadata
from orchestration.defs.landing import OWNERS
from orchestration.defs.resources import (
    DAILY_FRESHNESS,
    TRANSIENT_RETRY,
    WAREHOUSE_POOL,
    InsightsConfig,
)
from orchestration.defs.warehouse import classify_infrastructure_error
from orchestration.project import dbt_project
from orchestration.settings import max_abs_amount
from privacy.redaction import redact_quoted
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

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        # AssetCheckSpec is a record without a public copy-with method.
        return spec._replace(description=describe_test(manifest["nodes"][unique_id]))

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {
            **super().get_tags(dbt_resource_props),
            "layer": str(self.get_group_name(dbt_resource_props)),
        }


def describe_test(node: Mapping[str, Any]) -> str:
    """The test's `description` in the .yml, else what the generic test asserts, in words
    (dagster-dbt shows only meta.description, and most tests need no hand-written text)."""
    if node.get("description"):
        return node["description"]
    test = node.get("test_metadata") or {}
    kwargs = test.get("kwargs", {})
    column = kwargs.get("column_name") or node.get("column_name")
    subject = f"`{column}`" if column else "the table"
    name = test.get("name")
    if name == "not_null":
        return f"{subject} is never null."
    if name == "unique":
        return f"{subject} has no duplicate values."
    if name == "accepted_values":
        return f"{subject} is one of: {', '.join(map(str, kwargs.get('values', [])))}."
    if name == "relationships":
        target = str(kwargs.get("to", "")).removeprefix("ref('").removesuffix("')")
        return f"Every {subject} exists in {target}.{kwargs.get('field')}."
    if name == "value_between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        bounds = " and ".join(
            part
            for part in (
                f">= {low}" if low is not None else "",
                f"<= {high}" if high is not None else "",
            )
            if part
        )
        return f"{subject} is {bounds} (nulls pass)."
    if name == "unique_combination":
        return f"One row per {', '.join(kwargs.get('columns', []))}."
    if name == "has_rows":
        return f"The table has at least {kwargs.get('min_rows', 1)} row(s)."
    if name == "label_window_within_as_of":
        return "No training label window reaches past the as-of date (no leakage)."
    return f"dbt test {node['name']}."


translator = InsightsDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        # raw.orders and raw.orders_rejects are both written by the raw/orders asset.
        enable_duplicate_source_asset_keys=True,
    )
)


# dbt_vars keys that dbt reads with run_setting() (macros/run_settings.sql) and the profile:
# these go to dbt as INSIGHTS_DBT_<KEY> env vars, any other key with --vars (which makes dbt
# re-parse the whole project whenever a value changes).
RUN_SETTINGS = {"as_of", "churn_horizon_days", "warehouse_path", "run_date", "min_valid_date"}


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
        "max_abs_amount": max_abs_amount(),
        "max_quarantine_share": settings.max_quarantine_share,
    }


@contextmanager
def run_settings_env(values: Mapping[str, Any]) -> Iterator[None]:
    """INSIGHTS_DBT_<KEY> env vars while the dbt process is started (it copies os.environ);
    None becomes blank, which run_setting() reads as "use the project default"."""
    names = {
        f"INSIGHTS_DBT_{key.upper()}": "" if v is None else str(v) for key, v in values.items()
    }
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
    engine: EngineResource,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
    full_refresh: bool = False,
) -> Iterator[Any]:
    values = dbt_vars(insights, warehouse)
    other_vars = {k: v for k, v in values.items() if k not in RUN_SETTINGS}
    with run_settings_env({k: v for k, v in values.items() if k in RUN_SETTINGS}):
        # The engine picks the dbt target and how dbt runs (a subprocess, or in this process).
        invocation = engine.run_dbt(
            dbt,
            [
                "build",
                *(["--vars", json.dumps(other_vars)] if other_vars else []),
                *(["--full-refresh"] if full_refresh else []),
            ],
            context,
        )
    failpoint("dbt:started")
    try:
        # dbt holds the DuckDB write lock until it exits, so table metadata is read afterwards.
        events = list(invocation.stream())
        # dagster-dbt starts each dbt run from the project's target/partial_parse.msgpack: put
        # this run's parse state there, so the next run re-parses only what changed since this
        # one, not since `dagster-dbt project prepare`.
        keep_partial_parse(
            _target_dir_of(invocation), dbt_project.manifest_path.with_name(PARTIAL_PARSE_FILE)
        )
    finally:
        prune_dbt_targets(_target_dir_of(invocation).parent)
    yield from _with_table_metadata(context, events, engine)
    if not invocation.is_successful():
        error = str(invocation.get_error())
        cause = classify_infrastructure_error(
            error + "\n" + _log_tail(invocation), warehouse.database
        )
        if cause is None:
            # A load that is mostly quarantined fails the quarantine-share test: say which
            # file, reasons and mapping.yaml key instead of the generic message.
            _raise_if_too_much_quarantined(insights, engine)
        raise dg.Failure(
            description=cause or _build_failure_description(error),
            metadata={"dbt_error": dbt_error_summary(error)},
            # Only a lock held by another process is worth retrying; a failed test, a damaged
            # warehouse file or a full disk is not.
            allow_retries=cause is None and "Could not set lock" in error,
        )


# dagster-dbt writes each invocation's artifacts (~9 MB) to target/<step>-<run id[:7]>-<uuid>.
TARGET_FOLDER = re.compile(r"^[A-Za-z0-9_]+-([0-9a-f]{7})-[0-9a-f-]{7}$")
KEEP_DBT_TARGET_RUNS = 5


def prune_dbt_targets(target_dir: Path, keep_runs: int = KEEP_DBT_TARGET_RUNS) -> list[Path]:
    """Delete the per-invocation dbt target folders of all but the `keep_runs` most recent runs
    (a run has one folder per dbt step); returns what was deleted."""
    if not target_dir.is_dir():
        return []
    by_run: dict[str, list[Path]] = {}
    for folder in target_dir.iterdir():
        match = TARGET_FOLDER.match(folder.name)
        if match and folder.is_dir():
            by_run.setdefault(match.group(1), []).append(folder)
    newest = sorted(
        by_run, key=lambda run: max(f.stat().st_mtime for f in by_run[run]), reverse=True
    )
    removed = []
    for run in newest[keep_runs:]:
        for folder in by_run[run]:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _log_tail(invocation: Any) -> str:
    """The end of the invocation's dbt.log: where dbt reports an I/O error in full."""
    log = Path(_target_dir_of(invocation)) / "dbt.log"
    try:
        with log.open("rb") as stream:
            stream.seek(max(0, log.stat().st_size - 20_000))
            return stream.read().decode(errors="replace")
    except OSError:
        return ""


def _target_dir_of(invocation: Any) -> Path:
    target = Path(invocation.target_path)
    return target if target.is_absolute() else Path(invocation.project_dir) / target


DBT_ERRORS_HEADING = "Errors parsed from dbt logs:"


def dbt_error_summary(error: str, limit: int = 4000) -> str:
    """dagster-dbt's error text for the run metadata, with the values quoted in dbt's error
    messages ('Could not convert string ...') redacted: run metadata outlives erasure."""
    command, heading, errors = error.partition(DBT_ERRORS_HEADING)
    return (command + heading + redact_quoted(errors))[:limit]


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _build_failure_description(error: str, lines: int = 4) -> str:
    """What failed, in the step's failure itself: the CLI prints one line per step and the UI
    shows the description first, so 'see above' would point at nothing. Values redacted."""
    errors = ANSI_ESCAPE.sub("", dbt_error_summary(error).partition(DBT_ERRORS_HEADING)[2])
    first = [line.strip() for line in errors.splitlines() if line.strip()][:lines]
    detail = (": " + " / ".join(first)) if first else "; see the failed models/tests in the log"
    return f"dbt build failed{detail}. Downstream assets were not run."


def _raise_if_too_much_quarantined(insights: InsightsConfig, engine: EngineResource) -> None:
    """A build stopped by the quarantine share test fails with what went wrong and where."""
    share = insights.settings().max_quarantine_share
    with engine.get_engine() as sql_engine:
        entities = over_limit(sql_engine, share)
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
    engine: EngineResource,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
) -> Iterator[Any]:
    """Staging, quarantine, intermediate and marts models, seeds and their tests."""
    yield from _build(context, dbt, engine, insights, warehouse, config.full_refresh)


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
    engine: EngineResource,
    insights: InsightsConfig,
    warehouse: DuckDBResource,
) -> Iterator[Any]:
    """The analytics tables for BI (customer_360, segment_summary, ...), built from the marts
    and the ML outputs; the publish asset copies them into the serving database."""
    yield from _build(context, dbt, engine, insights, warehouse)


def _with_table_metadata(
    context: dg.AssetExecutionContext, events: list[Any], engine: EngineResource
) -> Iterator[Any]:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    nodes = _manifest_columns(manifest)
    # Row counts and schemas of tables, not views (a count would run the view's query).
    tables = {
        (node["schema"], node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
        and node.get("config", {}).get("materialized") not in ("view", "ephemeral")
    }
    with engine.get_engine() as sql_engine:
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
                    extra = engine_table_metadata(
                        sql_engine, *relation, descriptions=nodes.get(relation)
                    )
                    if extra:
                        extra.update(behaviour_metadata(sql_engine, *relation))
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
