"""The notebook way: RFM and engagement features in pandas, to compare speed and numbers.

Both sides start from the landing Parquet files and end with the as-of date's features:
- pandas: read the files into DataFrames, then groupby/merge as a notebook would;
- ours: load the raw tables and build the feature marts with dbt for the as-of date only
  (`training_cutoffs: 0`, so the work is the same as the pandas side's).
The two results are compared column by column before any time is reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ingest.contract import KNOWN_EVENT_TYPES

# The event types the marts count by name (dbt var event_types mirrors the contract).
EVENT_TYPES = KNOWN_EVENT_TYPES
WINDOWS = (7, 30, 90)


@dataclass
class Comparison:
    pandas_seconds: float
    ours_seconds: float
    match: bool
    detail: str

    @property
    def ratio(self) -> float:
        return self.pandas_seconds / self.ours_seconds


def _read(path: Path) -> pd.DataFrame:
    return duckdb.execute(f"select * from read_parquet('{path}')").df()


def pandas_features(landing: Path) -> pd.DataFrame:
    """RFM + engagement per customer as of the day after the latest order or event."""
    customers = _read(landing / "customers.parquet")
    orders = _read(landing / "orders.parquet")
    events = _read(landing / "events.parquet")
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    events["occurred_at"] = pd.to_datetime(events["occurred_at"])
    customers["signup_at"] = pd.to_datetime(customers["signup_at"])
    as_of = max(orders["ordered_at"].max(), events["occurred_at"].max()).normalize() + pd.Timedelta(
        days=1
    )

    first_seen = pd.concat(
        [
            customers.groupby("customer_id")["signup_at"].min(),
            orders.groupby("customer_id")["ordered_at"].min(),
            events.groupby("customer_id")["occurred_at"].min(),
        ],
        axis=1,
    ).min(axis=1)
    population = first_seen[first_seen < as_of].rename("first_seen_at").to_frame()

    completed = orders[(orders["status"] == "completed") & (orders["ordered_at"] < as_of)]
    completed = completed.sort_values(["customer_id", "ordered_at", "order_id"])
    completed["gap_days"] = (
        completed.groupby("customer_id")["ordered_at"].diff().dt.total_seconds() / 86400
    )
    grouped = completed.groupby("customer_id")
    rfm = pd.DataFrame(
        {
            "frequency": grouped.size(),
            "monetary_total": grouped["amount"].sum(),
            "last_order_at": grouped["ordered_at"].max(),
            "avg_days_between_orders": grouped["gap_days"].mean(),
            "median_days_between_orders": grouped["gap_days"].median(),
        }
    )
    for days in (30, 90, 365):
        recent = completed[completed["ordered_at"] >= as_of - pd.Timedelta(days=days)]
        rfm[f"orders_last_{days}d"] = recent.groupby("customer_id").size()
        rfm[f"revenue_last_{days}d"] = recent.groupby("customer_id")["amount"].sum()
    rfm["recency_days"] = (as_of - rfm["last_order_at"].dt.normalize()).dt.days
    # Money is kept to the cent before ranking, as in the marts (equal spend, equal score).
    rfm["monetary_total"] = rfm["monetary_total"].round(2)
    features = population.join(rfm)
    counts = ["frequency"] + [c for c in features if c.startswith(("orders_last", "revenue_last"))]
    features[counts] = features[counts].fillna(0)
    features["monetary_total"] = features["monetary_total"].fillna(0)
    buyers = features["frequency"] > 0
    for score, column, ascending in (
        ("r_score", "recency_days", False),
        ("f_score", "frequency", True),
        ("m_score", "monetary_total", True),
    ):
        ranks = features.loc[buyers, column].rank(method="min", ascending=ascending)
        features.loc[buyers, score] = 1 + np.floor(5 * (ranks - 1) / buyers.sum())

    # Engagement, from a daily activity table.
    events = events[events["occurred_at"] < as_of]
    events["day"] = events["occurred_at"].dt.normalize()
    daily = events.pivot_table(
        index=["customer_id", "day"],
        columns="event_type",
        values="occurred_at",
        aggfunc="count",
        fill_value=0,
    )
    daily = daily.reindex(columns=list(EVENT_TYPES), fill_value=0)
    daily["events"] = events.groupby(["customer_id", "day"]).size()
    daily = daily.reset_index()
    age = (as_of - daily["day"]).dt.days
    engagement = pd.DataFrame(index=features.index)
    for window in WINDOWS:
        inside = daily[age <= window].groupby("customer_id")[list(EVENT_TYPES)].sum()
        engagement = engagement.join(inside.add_suffix(f"_{window}d"))
    engagement["events_30d"] = daily[age <= 30].groupby("customer_id")["events"].sum()
    engagement["events_prev_30d"] = (
        daily[(age > 30) & (age <= 60)].groupby("customer_id")["events"].sum()
    )
    engagement["active_days"] = daily.groupby("customer_id").size()
    engagement["active_days_90d"] = daily[age <= 90].groupby("customer_id").size()
    engagement["days_since_last_activity"] = (
        as_of - daily.groupby("customer_id")["day"].max()
    ).dt.days
    engagement = engagement.fillna(
        {c: 0 for c in engagement.columns if c != "days_since_last_activity"}
    )
    sent = engagement["email_sent_90d"]
    engagement["email_open_rate_90d"] = (
        (engagement["email_open_90d"] / sent).clip(upper=1).where(sent > 0)
    )
    both = engagement["events_30d"] + engagement["events_prev_30d"]
    engagement["activity_trend_30d"] = (
        (engagement["events_30d"] - engagement["events_prev_30d"]) / both
    ).fillna(0)
    return features.join(engagement)


COMPARED = {
    "frequency": 0,
    "monetary_total": 0.01,
    "recency_days": 0,
    "avg_days_between_orders": 0.01,
    "median_days_between_orders": 0.01,
    "orders_last_90d": 0,
    "revenue_last_365d": 0.01,
    "r_score": 0,
    "f_score": 0,
    "m_score": 0,
    "session_start_30d": 0,
    "product_view_90d": 0,
    "email_open_7d": 0,
    "events_30d": 0,
    "events_prev_30d": 0,
    "active_days": 0,
    "active_days_90d": 0,
    "days_since_last_activity": 0,
    "email_open_rate_90d": 1e-4,
    "activity_trend_30d": 1e-4,
}


def our_features(landing: Path, workdir: Path) -> pd.DataFrame:
    """Raw load + dbt build of the feature marts for the as-of date only."""
    from ingest.contract import ENTITIES
    from ingest.landing import load_entity
    from ingest.mapping import load_mapping
    from orchestration.project import DBT_PROJECT_DIR

    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    mapping = load_mapping(landing)
    for entity in ENTITIES:
        load_entity(con, landing, mapping, entity)
    con.close()
    variables = {"warehouse_path": str(warehouse), "training_cutoffs": 0, "run_date": "2026-12-31"}
    build = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--quiet",
            "--select",
            "+customer_rfm +customer_engagement",
            "--exclude",
            "resource_type:test",
            "--vars",
            json.dumps(variables),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        capture_output=True,
        text=True,
        cwd=DBT_PROJECT_DIR,
    )
    if build.returncode != 0:
        raise RuntimeError(build.stdout[-3000:])
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return (
            con.execute(
                "select * from marts.customer_rfm join marts.customer_engagement "
                "using (customer_id, as_of_date)"
            )
            .df()
            .set_index("customer_id")
        )
    finally:
        con.close()


def compare_with_marts(landing: Path, warehouse: Path, workdir: Path) -> Comparison:
    started = time.perf_counter()
    ours = our_features(landing, workdir)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reference = pandas_features(landing)
    pandas_seconds = time.perf_counter() - started
    match, detail = _same_numbers(reference, ours)
    return Comparison(round(pandas_seconds, 2), round(ours_seconds, 2), match, detail)


def _same_numbers(reference: pd.DataFrame, ours: pd.DataFrame) -> tuple[bool, str]:
    if set(reference.index) != set(ours.index):
        return False, f"customers differ: {len(reference)} vs {len(ours)}"
    ours = ours.loc[reference.index]
    for column, tolerance in COMPARED.items():
        a = reference[column].astype(float).to_numpy()
        b = ours[column].astype(float).to_numpy()
        if not np.allclose(a, b, atol=tolerance, rtol=0, equal_nan=True):
            bad = int((~np.isclose(a, b, atol=tolerance, rtol=0, equal_nan=True)).sum())
            return False, f"{column} differs for {bad} customers"
    return True, f"{len(COMPARED)} columns equal for {len(reference):,} customers"
