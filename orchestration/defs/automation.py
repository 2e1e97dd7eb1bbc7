"""Jobs and schedules: the daily refresh over the whole asset graph."""

from __future__ import annotations

import os

import dagster as dg

REFRESH_JOB_NAME = "daily_refresh"

daily_refresh_job = dg.define_asset_job(
    name=REFRESH_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Load the landing files, build the dbt marts and run every model on them.",
)

daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh_schedule",
    job=daily_refresh_job,
    # INSIGHTS_REFRESH_CRON overrides the default 06:00 UTC.
    cron_schedule=os.environ.get("INSIGHTS_REFRESH_CRON", "0 6 * * *"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily full refresh. Off by default: turn it on under Automation in the UI.",
)
