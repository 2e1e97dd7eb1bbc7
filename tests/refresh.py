"""Run the real refresh job against temporary folders and read what it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetKey, AssetSelection, DagsterInstance, ExecuteInProcessResult

from orchestration.settings import Settings


@dataclass
class RefreshedWarehouse:
    landing_dir: Path
    warehouse_path: Path
    result: ExecuteInProcessResult
    truth_dir: Path | None = None
    # The run's instance: its event log is the run history (logs included) the UI would show.
    instance: DagsterInstance | None = None

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return query(self.warehouse_path, sql, params)


def refresh(
    landing_dir: Path,
    warehouse_path: Path,
    as_of: str | None = None,
    churn_horizon_days: int = 90,
    truth_dir: Path | None = None,
    raise_on_error: bool = True,
    run_config: dict | None = None,
    model_dir: Path | None = None,
    asset_selection: list | None = None,
    settings_overrides: dict | None = None,
) -> RefreshedWarehouse:
    """One run of the daily refresh job (or of `asset_selection`, AssetKeys, within it).
    Models and reports go beside the warehouse unless `model_dir` is given (runs that share it
    share the model in use). `settings_overrides`: other Settings fields, e.g.
    {"max_quarantine_share": 1.0}."""
    from orchestration.definitions import build_definitions
    from orchestration.defs.automation import REFRESH_JOB_NAME

    settings = Settings(
        landing_dir=Path(landing_dir),
        warehouse_path=Path(warehouse_path),
        as_of=as_of,
        churn_horizon_days=churn_horizon_days,
        model_dir=Path(model_dir or Path(warehouse_path).parent / "models"),
        report_dir=Path(warehouse_path).parent / "reports",
        serving_path=Path(warehouse_path).parent / "serving.duckdb",
        export_dir=Path(warehouse_path).parent / "exports",
        privacy_dir=Path(warehouse_path).parent / "privacy",
        **(settings_overrides or {}),
    )
    job = build_definitions(settings).resolve_job_def(REFRESH_JOB_NAME)
    instance = DagsterInstance.ephemeral()
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance,
        raise_on_error=raise_on_error,
        asset_selection=asset_selection,
    )
    return RefreshedWarehouse(
        Path(landing_dir), Path(warehouse_path), result, truth_dir, instance=instance
    )


# The loads and the dbt models up to the marts (no ML, no serving): what a test of the marts
# needs from a refresh.
BUILD_LAYERS = ("raw", "staging", "intermediate", "marts", "quarantine", "reference")


def _asset_graph(landing_dir: Path, warehouse_path: Path):
    from orchestration.definitions import build_definitions

    settings = Settings(Path(landing_dir), Path(warehouse_path), as_of=None, churn_horizon_days=90)
    return build_definitions(settings).resolve_asset_graph()


def build_selection(landing_dir: Path, warehouse_path: Path) -> list[AssetKey]:
    """The asset keys of BUILD_LAYERS, for `refresh(..., asset_selection=...)`."""
    return [
        key
        for key in _asset_graph(landing_dir, warehouse_path).get_all_asset_keys()
        if key.path[0] in BUILD_LAYERS
    ]


def selection_up_to(landing_dir: Path, warehouse_path: Path, *keys: str) -> list[AssetKey]:
    """`keys` ("ml/segment_migrations"), everything upstream of them and all of BUILD_LAYERS: a
    refresh that skips what a test does not read (exports, serving, other models). The dbt
    models always run whole, as in a full refresh: a subset would leave dbt tests that join
    unselected models (relationships) failing on a new warehouse."""
    graph = _asset_graph(landing_dir, warehouse_path)
    selection = AssetSelection.assets(*(AssetKey.from_user_string(key) for key in keys))
    build = {key for key in graph.get_all_asset_keys() if key.path[0] in BUILD_LAYERS}
    return sorted(selection.upstream().resolve(graph) | build)


def materialization(result: ExecuteInProcessResult, key: str) -> dict:
    """The metadata of asset `key` ("ml/customer_recommendations") in a run."""
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == key:
            return event.materialization.metadata
    raise AssertionError(f"{key} was not materialised")


def query(warehouse_path: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()
