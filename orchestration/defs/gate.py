"""The publish gate in the asset graph (the logic is in publishing/gate.py).

It checks twice against the last publish: the input metrics (customers, buyers, orders, revenue
of the last 30 days, rows per entity) right after the dbt marts, before any model is refit or
promoted (the model assets depend on this asset, so a failed gate skips them); the output
metrics (scored share, segment count) in the publish step, which puts the models in use back to
the published versions when it blocks.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd

from engines.base import Engine
from ml.model_store import ModelStore
from orchestration.defs.engine import EngineResource
from orchestration.defs.landing import OWNERS
from orchestration.defs.resources import WAREHOUSE_POOL, InsightsConfig, PublishGateConfig
from orchestration.defs.warehouse import markdown_table
from orchestration.settings import Settings
from publishing.gate import (
    DROP_METRICS,
    INPUT_METRICS,
    GatePolicy,
    GateResult,
    LastPublish,
    compare,
    input_metrics,
    last_publish,
    output_metrics,
)

DROP_GATE = dg.AssetKey(["publish", "drop_gate"])
GATE_INPUTS = [
    dg.AssetKey(["marts", "customer_features"]),
    dg.AssetKey(["marts", "run_context"]),
    dg.AssetKey(["intermediate", "int_completed_orders"]),
    *(
        dg.AssetKey(["staging", f"stg_landing__{entity}"])
        for entity in ("customers", "orders", "order_items", "events")
    ),
]


def gate_policy(gate: PublishGateConfig) -> GatePolicy:
    return GatePolicy(max_drop_share=gate.max_drop_share, accept_drop=gate.accept_drop)


def gate_metadata(result: GateResult, policy: GatePolicy) -> dict[str, object]:
    rows = [
        {
            "metric": metric,
            "last_publish": (result.previous or {}).get(metric),
            "this_run": value,
        }
        for metric, value in sorted(result.current.items(), key=lambda kv: _order(kv[0]))
    ]
    return {
        "passed": result.passed,
        "verdict": result.message(policy),
        "last_published_as_of": result.published_as_of or "nothing published yet",
        "max_drop_share": policy.max_drop_share,
        "accept_drop": policy.accept_drop,
        "metrics": dg.MetadataValue.md(markdown_table(pd.DataFrame(rows))),
    }


def _order(metric: str) -> tuple[int, str]:
    return (DROP_METRICS.index(metric) if metric in DROP_METRICS else len(DROP_METRICS), metric)


def check_or_fail(
    context: dg.AssetExecutionContext,
    previous: LastPublish | None,
    current: dict[str, float],
    policy: GatePolicy,
    metrics: tuple[str, ...],
    on_block: Callable[[], str] | None = None,
) -> GateResult:
    """Compare, log; on a blocking drop call `on_block` (e.g. put models back; it returns a
    note for the message) and fail the step with the metric, old and new value and how to
    accept it."""
    result = compare(previous, current, policy, metrics)
    message = result.message(policy)
    if not result.passed:
        if on_block is not None:
            message = f"{message} {on_block()}".strip()
        raise dg.Failure(
            description=f"Publish gate: {message}",
            metadata=gate_metadata(result, policy),
            allow_retries=False,
        )
    (context.log.warning if result.drops else context.log.info)(f"Publish gate: {message}")
    return result


@dg.asset(
    key=DROP_GATE,
    deps=GATE_INPUTS,
    group_name="publishing",
    kinds={"duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Stops the run before any model is refit or promoted and before anything is published "
        "when customers, buyers, orders, revenue of the last 30 days or an entity's rows fell "
        "beyond the allowed share since the last publish (analytics.publish_log). Accept a "
        "real drop with publish_gate accept_drop (`insights run --accept-drop`)."
    ),
)
def drop_gate(
    context: dg.AssetExecutionContext,
    insights: InsightsConfig,
    publish_gate: PublishGateConfig,
    engine: EngineResource,
) -> dg.MaterializeResult:
    policy = gate_policy(publish_gate)
    previous = last_publish(insights.settings().serving_path)
    with engine.get_engine() as sql_engine:
        current = input_metrics(sql_engine)
    result = check_or_fail(context, previous, current, policy, INPUT_METRICS)
    return dg.MaterializeResult(metadata=gate_metadata(result, policy))


def restore_published_models(model_dir: Path, previous: LastPublish | None) -> str:
    """Point the model store back at the versions of the last publish (a blocked run must not
    leave a refit or a promotion in use). Returns a note saying what was put back."""
    if previous is None:
        return ""
    store = ModelStore(model_dir)
    restored = []
    for kind, version in (
        ("segmentation", previous.segment_model_version),
        ("churn", previous.churn_model_version),
    ):
        if not version or store.current_version(kind) == version:
            continue
        try:
            store.set_current(kind, version)
        except FileNotFoundError:
            continue
        restored.append(f"{kind} {version}")
    if not restored:
        return ""
    return f"The published models are in use again: {', '.join(restored)}."


def publish_gate_check(
    context: dg.AssetExecutionContext,
    engine: Engine,
    settings: Settings,
    policy: GatePolicy,
) -> dict[str, float]:
    """Every gate metric (inputs and outputs) against the last publish, in the publish steps:
    they can be materialised without the drop_gate asset. Returns the metrics to log."""
    previous = last_publish(settings.serving_path)
    current = {**input_metrics(engine), **output_metrics(engine)}
    check_or_fail(
        context,
        previous,
        current,
        policy,
        DROP_METRICS,
        on_block=lambda: restore_published_models(settings.model_dir, previous),
    )
    return current
