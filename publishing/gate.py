"""The publish gate: never replace what BI and marketing read with a refresh that lost data.

Before the models are refit or promoted and before the serving database and the exports are
replaced, the new refresh is compared with the last one that was published (its row in
`analytics.publish_log` of the serving database). A metric that fell by more than the allowed
share (default 50%), or an entity that had rows and now has none, blocks the run: an empty or
truncated landing file then fails loudly instead of publishing revenue 0 and three segments.
A drop that is real (a shop closed a channel, a backfill as of an earlier date) is accepted for
one run with `accept_drop`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from engines.base import Engine
from ingest.landing import table_exists
from publishing.serving import LOG_TABLE, SCHEMA

# Metrics that may not fall by more than the allowed share, in the order they are reported.
DROP_METRICS = (
    "customers",
    "buyers",
    "orders",
    "revenue_last_30d",
    "scored_share",
    "segments",
)
# Metrics of the input (checked before the models run); the rest are checked before publishing.
INPUT_METRICS = DROP_METRICS[:4]
OUTPUT_METRICS = DROP_METRICS[4:]
# Per-entity row counts: an entity that had rows must not come back empty.
ENTITY_PREFIX = "rows."
ENTITY_TABLES = {
    "customers": "staging.stg_landing__customers",
    "orders": "staging.stg_landing__orders",
    "order_items": "staging.stg_landing__order_items",
    "events": "staging.stg_landing__events",
}
ACCEPT_HINT = (
    "If the drop is real, accept it for one run: `insights run --accept-drop`, or "
    "`accept_drop: true` under resources.publish_gate.config in the launchpad"
)


@dataclass(frozen=True)
class GatePolicy:
    max_drop_share: float = 0.5  # a metric may fall by at most this share of its old value
    accept_drop: bool = False


@dataclass(frozen=True)
class Drop:
    metric: str
    old: float
    new: float

    def describe(self) -> str:
        if self.metric.startswith(ENTITY_PREFIX):
            entity = self.metric[len(ENTITY_PREFIX) :]
            return f"{entity} rows fell from {_fmt(self.old)} to 0"
        change = (self.new - self.old) / self.old if self.old else 0.0
        return f"{self.metric} fell from {_fmt(self.old)} to {_fmt(self.new)} ({change:+.0%})"


@dataclass(frozen=True)
class GateResult:
    passed: bool
    drops: list[Drop]
    previous: dict[str, float] | None
    current: dict[str, float]
    published_as_of: str | None

    def message(self, policy: GatePolicy) -> str:
        if not self.drops:
            if self.previous is None:
                return "nothing published yet: no comparison"
            return f"no metric fell by more than {policy.max_drop_share:.0%} since the last publish"
        accepted = " (accepted: accept_drop is set)" if policy.accept_drop else ""
        return (
            f"compared with the last publish (as of {self.published_as_of}): "
            + "; ".join(drop.describe() for drop in self.drops)
            + f" (allowed drop {policy.max_drop_share:.0%}){accepted}."
            + ("" if policy.accept_drop else f" Nothing was published. {ACCEPT_HINT}.")
        )


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.2f}"


def input_metrics(engine: Engine) -> dict[str, float]:
    """Customers, buyers, orders and revenue of the last 30 days before the as-of date (from
    the feature mart and completed orders) and the staged rows of every entity. Portable SQL:
    the metrics come from whichever engine holds the tables."""
    counted = engine.sql(
        "select count(*) as customers, "
        "coalesce(sum(case when frequency > 0 then 1 else 0 end), 0) as buyers, "
        "coalesce(sum(frequency), 0) as orders from marts.customer_features"
    ).iloc[0]
    revenue = engine.sql(
        """
        select coalesce(sum(orders.amount), 0) as revenue
        from intermediate.int_completed_orders as orders, marts.run_context as run
        where orders.ordered_at >= run.as_of_date - interval 30 day
          and orders.ordered_at < run.as_of_date
        """
    )["revenue"].iloc[0]
    metrics = {
        "customers": float(counted["customers"]),
        "buyers": float(counted["buyers"]),
        "orders": float(counted["orders"]),
        "revenue_last_30d": round(float(revenue), 2),
    }
    for entity, table in ENTITY_TABLES.items():
        if engine.table_exists(table):
            metrics[ENTITY_PREFIX + entity] = float(engine.row_count(table))
    return metrics


def output_metrics(engine: Engine) -> dict[str, float]:
    """Share of customers with a churn score and number of segments, from analytics.customer_360."""
    row = engine.sql(
        "select coalesce(avg(case when churn_probability is null then 0 else 1 end), 0) "
        f"as scored, count(distinct segment_id) as segments from {SCHEMA}.customer_360"
    ).iloc[0]
    return {"scored_share": round(float(row["scored"]), 4), "segments": float(row["segments"])}


@dataclass(frozen=True)
class LastPublish:
    as_of_date: str
    metrics: dict[str, float]
    segment_model_version: str | None
    churn_model_version: str | None


def last_publish(serving_path: Path) -> LastPublish | None:
    """The newest row of the serving database's publish log, or None (nothing published).
    Logs written before the gate existed have only the customer count."""
    serving_path = Path(serving_path)
    if not serving_path.exists():
        return None
    con = duckdb.connect(str(serving_path), read_only=True)
    try:
        if not table_exists(con, f"{SCHEMA}.{LOG_TABLE}"):
            return None
        columns = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [SCHEMA, LOG_TABLE],
            ).fetchall()
        }
        metrics_column = "gate_metrics" if "gate_metrics" in columns else "null"
        row = con.execute(
            f"select cast(as_of_date as varchar), customers, {metrics_column}, "
            f"segment_model_version, churn_model_version from {SCHEMA}.{LOG_TABLE} "
            "order by published_at desc limit 1"
        ).fetchall()
    finally:
        con.close()
    if not row:
        return None
    as_of, customers, metrics_json, segment_version, churn_version = row[0]
    metrics = json.loads(metrics_json) if metrics_json else {"customers": float(customers or 0)}
    return LastPublish(as_of, metrics, segment_version, churn_version)


def compare(
    previous: LastPublish | None,
    current: dict[str, float],
    policy: GatePolicy,
    metrics: tuple[str, ...] = DROP_METRICS,
) -> GateResult:
    """The drops of `metrics` (and of every entity's rows) beyond the policy. Metrics the last
    publish did not record are not compared."""
    if previous is None:
        return GateResult(True, [], None, current, None)
    drops = []
    for metric in metrics:
        old, new = previous.metrics.get(metric), current.get(metric)
        if old is None or new is None or old <= 0:
            continue
        if new < old * (1 - policy.max_drop_share):
            drops.append(Drop(metric, float(old), float(new)))
    for metric, old in previous.metrics.items():
        if metric.startswith(ENTITY_PREFIX) and old > 0 and current.get(metric, 0.0) == 0:
            drops.append(Drop(metric, float(old), 0.0))
    return GateResult(
        not drops or policy.accept_drop, drops, previous.metrics, current, previous.as_of_date
    )
