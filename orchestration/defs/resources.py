"""Dagster resources: run settings, the DuckDB warehouse and the dbt CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from orchestration.defs.warehouse import infrastructure_failure
from orchestration.project import dbt_project
from orchestration.refresh_lock import acquire, release
from orchestration.settings import (
    Settings,
    duckdb_memory_limit,
    from_env,
    parse_as_of,
    parse_horizon,
    parse_min_valid_date,
    parse_quarantine_share,
)

# Every asset that writes the warehouse file joins this pool. The shipped dagster.yaml limits it
# to one run at a time, so concurrent launches queue instead of failing on DuckDB's file lock.
WAREHOUSE_POOL = "duckdb_warehouse"

# Raw inputs, feature marts and the BI tables must have been refreshed within a day (the daily
# refresh plus slack); the UI marks them stale otherwise. Freshness policies need no sensor.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=30), warn_window=timedelta(hours=26)
)

# For steps that can fail transiently: the warehouse file still locked by a process that is
# finishing (e.g. an orphaned dbt after a crash), a file still being written to the landing
# folder, a busy disk. Deliberate failures (bad input, failed tests) and permanent infrastructure
# errors (a damaged warehouse file, a full disk: warehouse.infrastructure_failure) raise
# dg.Failure(allow_retries=False) and are not retried.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


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
    min_valid_date: str = Field(
        default="",
        description=(
            "Rows dated before this YYYY-MM-DD are quarantined as date_too_old. Blank: "
            "INSIGHTS_MIN_VALID_DATE, else 1950-01-01 (mapping.yaml `min_date` per entity wins)."
        ),
    )
    max_quarantine_share: float = Field(
        default=-1.0,
        description=(
            "Stop the refresh before the models when more than this share (0..1) of an entity's "
            "rows is quarantined. -1: INSIGHTS_MAX_QUARANTINE_SHARE, else 0.2; 1: never stop."
        ),
    )

    model_dir: str = Field(
        default="", description="Fitted models. Blank: INSIGHTS_MODEL_DIR or ./data/models."
    )
    report_dir: str = Field(
        default="", description="HTML reports. Blank: INSIGHTS_REPORT_DIR or ./data/reports."
    )
    serving_path: str = Field(
        default="",
        description="BI serving database. Blank: INSIGHTS_SERVING_PATH or ./data/serving.duckdb",
    )
    export_dir: str = Field(
        default="", description="Audience exports. Blank: INSIGHTS_EXPORT_DIR or ./data/exports."
    )
    privacy_dir: str = Field(
        default="",
        description="Erasure list and log. Blank: INSIGHTS_PRIVACY_DIR or ./data/privacy.",
    )

    def settings(self) -> Settings:
        """These fields over the environment's settings (blank fields fall back)."""
        env = from_env()
        return replace(
            env,
            landing_dir=Path(self.landing_dir).resolve() if self.landing_dir else env.landing_dir,
            as_of=parse_as_of(self.as_of, name="as_of") if self.as_of.strip() else env.as_of,
            churn_horizon_days=(
                parse_horizon(self.churn_horizon_days, name="churn_horizon_days")
                if self.churn_horizon_days
                else env.churn_horizon_days
            ),
            min_valid_date=(
                parse_min_valid_date(self.min_valid_date, name="min_valid_date")
                if self.min_valid_date.strip()
                else env.min_valid_date
            ),
            max_quarantine_share=(
                parse_quarantine_share(self.max_quarantine_share, name="max_quarantine_share")
                if self.max_quarantine_share >= 0
                else env.max_quarantine_share
            ),
            model_dir=Path(self.model_dir).resolve() if self.model_dir else env.model_dir,
            report_dir=Path(self.report_dir).resolve() if self.report_dir else env.report_dir,
            serving_path=(
                Path(self.serving_path).resolve() if self.serving_path else env.serving_path
            ),
            export_dir=Path(self.export_dir).resolve() if self.export_dir else env.export_dir,
            privacy_dir=Path(self.privacy_dir).resolve() if self.privacy_dir else env.privacy_dir,
        )


class WarehouseResource(DuckDBResource):
    """DuckDBResource that always closes its connection. Upstream's get_connection skips the
    close when the step raises, which in a long-lived process (in-process runs, `insights run`
    after a failure) leaves the warehouse open and makes the next connection fail.

    A run that uses the warehouse holds its refresh lock (orchestration/refresh_lock.py) from
    the start to the end of the run: a second run, from the CLI, the UI or a schedule, fails
    at its start with "a refresh is running (run ..., since ...)"."""

    _lock_run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run_id = context.run.run_id if context.run is not None else "no-run"
        note = acquire(self.database, run_id)
        self._lock_run_id = run_id
        if note and context.log is not None:
            context.log.warning(note)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock_run_id is not None:
            release(self.database, self._lock_run_id)
            self._lock_run_id = None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = self._connect()
        try:
            yield connection
        except dg.Failure:
            raise
        except Exception as exc:
            # A damaged file or a full disk met while working: fail now, naming both.
            failure = infrastructure_failure(exc, self.database)
            if failure is not None:
                raise failure from exc
            raise
        finally:
            connection.close()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        # A lock held by a process that is finishing (e.g. dbt) clears within seconds.
        for attempt in range(8):
            try:
                connection = duckdb.connect(
                    self.database, read_only=False, config=self.connection_config
                )
                # A SET, not connect config: other connections to the file in this process
                # (read-only readers) need not repeat it to be compatible.
                connection.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
                return connection
            except (duckdb.IOException, OSError) as exc:
                failure = infrastructure_failure(exc, self.database)
                if failure is not None:
                    raise failure from exc
                if attempt == 7:
                    raise
                time.sleep(min(0.5 * 2**attempt, 10))
        raise AssertionError("unreachable")


class PublishGateConfig(dg.ConfigurableResource):
    """The publish gate (publishing/gate.py): how far a metric may fall since the last publish
    before the run stops without refitting, promoting or publishing."""

    accept_drop: bool = Field(
        default=False,
        description="Publish this run although a metric fell beyond the allowed share (a real "
        "drop, e.g. a backfill as of an earlier date). Same as `insights run --accept-drop`.",
    )
    max_drop_share: float = Field(
        default=0.5,
        description="Block when customers, buyers, orders, revenue of the last 30 days, scored "
        "share or segment count fell by more than this share of the last publish's value.",
    )


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
            min_valid_date=settings.min_valid_date,
            max_quarantine_share=settings.max_quarantine_share,
            model_dir=str(settings.model_dir),
            report_dir=str(settings.report_dir),
            serving_path=str(settings.serving_path),
            export_dir=str(settings.export_dir),
            privacy_dir=str(settings.privacy_dir),
        )
        warehouse_path = settings.warehouse_path
    # Imported here: orchestration/defs/engine.py builds on WarehouseResource above.
    from orchestration.defs.engine import EngineResource

    warehouse = WarehouseResource(database=str(warehouse_path))
    return {
        "insights": insights,
        "warehouse": warehouse,
        "engine": EngineResource(warehouse=warehouse),
        "dbt": DbtCliResource(project_dir=dbt_project),
        "publish_gate": PublishGateConfig(),
    }
