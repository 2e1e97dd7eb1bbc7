"""Dagster resources: run settings, the DuckDB warehouse and the dbt CLI."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.project import dbt_project
from orchestration.settings import Settings, from_env, parse_as_of, parse_horizon

# Every asset that writes the warehouse file joins this pool. The shipped dagster.yaml limits it
# to one run at a time, so concurrent launches queue instead of failing on DuckDB's file lock.
WAREHOUSE_POOL = "duckdb_warehouse"


class InsightsConfig(dg.ConfigurableResource):
    """Per-run settings of the pipeline. A blank field falls back to its INSIGHTS_* environment
    variable, then to the default, so the launchpad only needs the values a run changes."""

    landing_dir: str = Field(
        default="",
        description="Folder with the landing files. Blank: INSIGHTS_LANDING_DIR or ./data/landing.",
    )
    as_of: str = Field(
        default="",
        description=(
            "As-of date YYYY-MM-DD: features use data strictly before it. Blank: INSIGHTS_AS_OF, "
            "else the day after the latest order or event in the data."
        ),
    )
    churn_horizon_days: int = Field(
        default=0,
        description=(
            "Churn and value label window in days. 0: INSIGHTS_CHURN_HORIZON_DAYS, else 90."
        ),
    )

    @property
    def landing_path(self) -> Path:
        return Path(self.landing_dir).resolve() if self.landing_dir else from_env().landing_dir

    def resolved_as_of(self) -> str | None:
        if self.as_of.strip():
            return parse_as_of(self.as_of, name="as_of")
        return from_env().as_of

    def resolved_horizon(self) -> int:
        if self.churn_horizon_days:
            return parse_horizon(self.churn_horizon_days, name="churn_horizon_days")
        return from_env().churn_horizon_days


def build_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    """Resources for the code location. Given explicit settings (tests), they are pinned;
    otherwise the run settings resolve from the environment when a run starts."""
    if settings is None:
        insights = InsightsConfig()
        warehouse_path = from_env().warehouse_path
    else:
        insights = InsightsConfig(
            landing_dir=str(settings.landing_dir),
            as_of=settings.as_of or "",
            churn_horizon_days=settings.churn_horizon_days,
        )
        warehouse_path = settings.warehouse_path
    return {
        "insights": insights,
        "warehouse": DuckDBResource(database=str(warehouse_path)),
        "dbt": DbtCliResource(project_dir=dbt_project),
    }
