"""The code location: assets, checks, jobs, schedules and resources, assembled."""

import dagster as dg

from orchestration.defs.automation import JOBS, SCHEDULES, SENSORS
from orchestration.defs.dbt import dbt_models, dbt_serving_models
from orchestration.defs.gate import drop_gate
from orchestration.defs.landing import LANDING_FILES, RAW_ASSETS
from orchestration.defs.prediction import PREDICTION_ASSETS
from orchestration.defs.privacy import PRIVACY_ASSETS, PRIVACY_JOBS
from orchestration.defs.publishing import PUBLISHING_ASSETS
from orchestration.defs.recommendations import RECOMMENDATION_ASSETS
from orchestration.defs.resources import build_resources
from orchestration.defs.segmentation import SEGMENTATION_ASSETS
from orchestration.settings import Settings, alert_webhook_url


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The code location; tests pass explicit settings to point it at temporary folders."""
    alert_webhook_url()  # a bad INSIGHTS_ALERT_WEBHOOK_URL stops the location at start-up
    return dg.Definitions(
        assets=[
            *LANDING_FILES,
            *RAW_ASSETS,
            dbt_models,
            drop_gate,
            *SEGMENTATION_ASSETS,
            *PREDICTION_ASSETS,
            *RECOMMENDATION_ASSETS,
            *PRIVACY_ASSETS,
            dbt_serving_models,
            *PUBLISHING_ASSETS,
        ],
        jobs=[*JOBS, *PRIVACY_JOBS],
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources=build_resources(settings),
        # Steps share one DuckDB file that allows a single writer process: run them in one
        # process, one after another; the pool serialises runs (see dagster.yaml). The Spark
        # engine needs it too: the run's SparkSession, and dbt-spark's session mode, live in
        # this process (docs/scaling.md, "Orchestration").
        executor=dg.in_process_executor,
    )


defs = build_definitions()
