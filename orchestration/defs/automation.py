"""Jobs, schedules and sensors: the daily refresh, weekly refits, a landing-folder sensor and a
run-failure alert."""

import hashlib
import json
import os
import urllib.request
from pathlib import Path

import dagster as dg

from orchestration.settings import alert_webhook_url, from_env

REFRESH_JOB_NAME = "daily_refresh"
SEGMENT_MODEL_KEY = dg.AssetKey(["ml", "segment_model"])
CHURN_MODEL_KEY = dg.AssetKey(["ml", "churn_model"])
# The model jobs pass the publish gate first: no refit on marts a blocked refresh left behind.
DROP_GATE_KEY = dg.AssetKey(["publish", "drop_gate"])

daily_refresh_job = dg.define_asset_job(
    name=REFRESH_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description=(
        "Load the landing files, build the dbt marts, assign segments and score customers with "
        "the models in use (refitting only when due or drifted), publish and export."
    ),
)

segment_refit_job = dg.define_asset_job(
    name="segment_model_refit",
    selection=dg.AssetSelection.assets(DROP_GATE_KEY, SEGMENT_MODEL_KEY),
    config={"ops": {"ml__segment_model": {"config": {"refit": True}}}},
    description="Refit the segmentation model now (k selection, stability, id matching).",
)

churn_retrain_job = dg.define_asset_job(
    name="churn_model_retrain",
    selection=dg.AssetSelection.assets(DROP_GATE_KEY, CHURN_MODEL_KEY),
    config={"ops": {"ml__churn_model": {"config": {"retrain": True}}}},
    description="Retrain and validate the churn and value models; promote through the gate.",
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

segment_refit_schedule = dg.ScheduleDefinition(
    name="weekly_segment_refit",
    job=segment_refit_job,
    cron_schedule=os.environ.get("INSIGHTS_SEGMENT_REFIT_CRON", "0 4 * * 1"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Refit segments every Monday 04:00 UTC, before the daily refresh.",
)

churn_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_churn_retrain",
    job=churn_retrain_job,
    cron_schedule=os.environ.get("INSIGHTS_CHURN_RETRAIN_CRON", "0 5 * * 1"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Retrain churn/value every Monday 05:00 UTC, before the daily refresh.",
)


def landing_state(landing_dir: Path) -> str:
    """A fingerprint of the landing folder's files (name, size, modification time): cheap to
    compute every 30 seconds, and it changes when a file is added, replaced or rewritten."""
    digest = hashlib.sha256()
    if landing_dir.exists():
        for path in sorted(p for p in landing_dir.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue
            stat = path.stat()
            digest.update(
                f"{path.relative_to(landing_dir)}|{stat.st_size}|{stat.st_mtime_ns}".encode()
            )
    return digest.hexdigest()


@dg.sensor(
    name="landing_files_sensor",
    job=daily_refresh_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Starts a refresh when files in INSIGHTS_LANDING_DIR are added or change. The cursor is "
        "the folder's fingerprint and the run key too, so the same files never start two runs."
    ),
)
def landing_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    landing_dir = from_env().landing_dir
    state = landing_state(landing_dir)
    if context.cursor is None:
        # First evaluation after the sensor is turned on: remember, do not refresh what is
        # already there (the schedule or a manual run covers it).
        return dg.SensorResult(skip_reason=f"watching {landing_dir}", cursor=state)
    if state == context.cursor:
        return dg.SkipReason(f"no change in {landing_dir}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"landing-{state[:16]}")],
        cursor=state,
    )


def failure_summary(run: dg.DagsterRun, failed_steps: list[tuple[str, str]]) -> str:
    steps = "; ".join(f"{step}: {message}" for step, message in failed_steps) or "see the run logs"
    return f"customer-insights run {run.run_id} of job {run.job_name} failed. {steps}"


def post_webhook(url: str, payload: dict[str, object], timeout: float = 10.0) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def error_summary(error: object) -> str:
    """The root cause of a serialised error as one line, "ExceptionType: message" without the
    module path and traceback (Dagster wraps e.g. a resource's error in its own)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    lines = (getattr(error, "message", "") or "").strip().splitlines()
    line = lines[0] if lines else ""
    kind, sep, rest = line.partition(": ")
    return f"{kind.rsplit('.', 1)[-1]}{sep}{rest}" if sep and " " not in kind else line


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Logs a one-paragraph summary of every failed run (which steps failed and why) and "
        "posts it as JSON to INSIGHTS_ALERT_WEBHOOK_URL when that is set. A webhook that "
        "cannot be reached or answers with an error is logged; the summary is never lost."
    ),
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    failed = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        message = ""
        if data is not None and data.user_failure_data and data.user_failure_data.description:
            message = data.user_failure_data.description
        elif data is not None and data.error is not None:
            message = error_summary(data.error)
        failed.append((event.step_key or "run", message[:500]))
    if not failed:
        # Failed before any step ran (e.g. another refresh holds the warehouse lock).
        run_error = getattr(context.failure_event.event_specific_data, "error", None)
        if run_error is not None:
            failed.append(("run", error_summary(run_error)[:500]))
    summary = failure_summary(context.dagster_run, failed)
    context.log.error(summary)
    try:
        url = alert_webhook_url()
        if url:
            payload = {
                "text": summary,
                "run_id": context.dagster_run.run_id,
                "failed_steps": failed,
            }
            post_webhook(url, payload)
    except Exception as exc:  # an alert must never fail the sensor: log why it was not sent
        context.log.warning(
            f"could not post the failure alert to the webhook: {type(exc).__name__}: {exc}"
        )


JOBS = [daily_refresh_job, segment_refit_job, churn_retrain_job]
SCHEDULES = [daily_refresh_schedule, segment_refit_schedule, churn_retrain_schedule]
SENSORS = [landing_files_sensor, run_failure_alert]
