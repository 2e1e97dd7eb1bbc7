"""The same RFM and engagement features as bench/pandas_reference.py, in polars (lazy, streaming).

pandas does not fit at 1M customers; a lazy polars query that streams the landing Parquet files
is the fair reference for "a data engineer without our warehouse" at that scale. It starts
from the same files, ends with the same as-of date's features, and its numbers are checked
against the marts with the same columns and tolerances as the pandas reference before any time
is reported. polars is a `bench` extra, not a runtime dependency: only this benchmark uses it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import polars as pl

from bench.pandas_reference import EVENT_TYPES, WINDOWS, _same_numbers, our_features

DAY = timedelta(days=1)
ORDER_SUMS = ("orders", "revenue")


@dataclass
class PolarsComparison:
    polars_seconds: float
    ours_seconds: float
    match: bool
    detail: str

    @property
    def ratio(self) -> float:
        return self.polars_seconds / self.ours_seconds


def _scan(landing: Path, name: str, timestamp: str) -> pl.LazyFrame:
    # The landing files keep timestamps as text; pandas' to_datetime infers the format too.
    return pl.scan_parquet(landing / f"{name}.parquet").with_columns(
        pl.col(timestamp).str.to_datetime(time_unit="us")
    )


def _days(expr: pl.Expr) -> pl.Expr:
    return expr.dt.total_days()


def polars_features(landing: Path) -> pd.DataFrame:
    """RFM + engagement per customer as of the day after the latest order or event."""
    customers = _scan(landing, "customers", "signup_at")
    orders = _scan(landing, "orders", "ordered_at")
    events = _scan(landing, "events", "occurred_at")
    latest = pl.concat(
        [
            orders.select(pl.col("ordered_at").max().alias("at")),
            events.select(pl.col("occurred_at").max().alias("at")),
        ]
    )
    latest_at: datetime = latest.select(pl.col("at").max()).collect(engine="streaming").item()
    as_of = datetime(latest_at.year, latest_at.month, latest_at.day) + DAY

    first_seen = (
        pl.concat(
            [
                customers.select("customer_id", pl.col("signup_at").alias("at")),
                orders.select("customer_id", pl.col("ordered_at").alias("at")),
                events.select("customer_id", pl.col("occurred_at").alias("at")),
            ]
        )
        .group_by("customer_id")
        .agg(pl.col("at").min().alias("first_seen_at"))
        .filter(pl.col("first_seen_at") < as_of)
    )

    completed = orders.filter((pl.col("status") == "completed") & (pl.col("ordered_at") < as_of))
    gap_days = pl.col("ordered_at").sort().diff().dt.total_microseconds() / 86_400e6
    windows = []
    for days in (30, 90, 365):
        inside = pl.col("ordered_at") >= as_of - timedelta(days=days)
        windows += [
            inside.sum().alias(f"orders_last_{days}d"),
            pl.col("amount").filter(inside).sum().alias(f"revenue_last_{days}d"),
        ]
    rfm = completed.group_by("customer_id").agg(
        pl.len().alias("frequency"),
        pl.col("amount").sum().alias("monetary_total"),
        pl.col("ordered_at").max().alias("last_order_at"),
        gap_days.mean().alias("avg_days_between_orders"),
        gap_days.median().alias("median_days_between_orders"),
        *windows,
    )
    counts = ["frequency", *[f"{k}_last_{d}d" for d in (30, 90, 365) for k in ORDER_SUMS]]
    features = (
        first_seen.join(rfm, on="customer_id", how="left")
        .with_columns(
            pl.col(counts).fill_null(0),
            # Money is kept to the cent before ranking, as in the marts.
            pl.col("monetary_total").round(2).fill_null(0),
            _days(pl.lit(as_of) - pl.col("last_order_at").dt.truncate("1d")).alias("recency_days"),
        )
        .with_columns(buyers=pl.col("frequency") > 0)
    )
    scores = []
    for score, column, descending in (
        ("r_score", "recency_days", True),
        ("f_score", "frequency", False),
        ("m_score", "monetary_total", False),
    ):
        # Ranked among buyers only: everyone else has no rank and no score.
        ranked = pl.when(pl.col("buyers")).then(pl.col(column))
        rank = ranked.rank(method="min", descending=descending)
        scores.append(
            (1 + (5 * (rank - 1) / pl.col("buyers").sum()).floor()).cast(pl.Float64).alias(score)
        )
    features = features.with_columns(scores).drop("buyers")

    daily = (
        events.filter(pl.col("occurred_at") < as_of)
        .group_by("customer_id", pl.col("occurred_at").dt.truncate("1d").alias("day"))
        .agg(
            *[(pl.col("event_type") == kind).sum().alias(kind) for kind in EVENT_TYPES],
            pl.len().alias("events"),
        )
        .with_columns(age=_days(pl.lit(as_of) - pl.col("day")))
    )
    age = pl.col("age")
    engagement = daily.group_by("customer_id").agg(
        *[
            pl.col(kind).filter(age <= window).sum().alias(f"{kind}_{window}d")
            for window in WINDOWS
            for kind in EVENT_TYPES
        ],
        pl.col("events").filter(age <= 30).sum().alias("events_30d"),
        pl.col("events").filter((age > 30) & (age <= 60)).sum().alias("events_prev_30d"),
        pl.len().alias("active_days"),
        (age <= 90).sum().alias("active_days_90d"),
        age.min().alias("days_since_last_activity"),
    )
    counted = [c for c in engagement.collect_schema().names() if c != "customer_id"]
    filled = [c for c in counted if c != "days_since_last_activity"]
    sent, opened = pl.col("email_sent_90d"), pl.col("email_open_90d")
    # Counts are unsigned in polars: a difference of them must be signed first.
    recent, previous = (pl.col(c).cast(pl.Float64) for c in ("events_30d", "events_prev_30d"))
    result = (
        features.join(engagement, on="customer_id", how="left")
        .with_columns(pl.col(filled).fill_null(0))
        .with_columns(
            pl.when(sent > 0)
            .then(pl.min_horizontal(opened / sent, 1.0))
            .alias("email_open_rate_90d"),
            pl.when(recent + previous > 0)
            .then((recent - previous) / (recent + previous))
            .otherwise(0.0)
            .alias("activity_trend_30d"),
        )
        .collect(engine="streaming")
    )
    return result.to_pandas().set_index("customer_id")


def compare_with_marts(landing: Path, workdir: Path) -> PolarsComparison:
    started = time.perf_counter()
    ours = our_features(landing, workdir)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reference = polars_features(landing)
    polars_seconds = time.perf_counter() - started
    match, detail = _same_numbers(reference, ours)
    return PolarsComparison(round(polars_seconds, 2), round(ours_seconds, 2), match, detail)


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("landing", type=Path, help="a landing folder of Parquet files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        comparison = compare_with_marts(args.landing, Path(tmp))
    print(
        f"features: polars {comparison.polars_seconds:.1f}s, ours {comparison.ours_seconds:.1f}s "
        f"-> ratio {comparison.ratio:.2f}x (same numbers: {comparison.match}; {comparison.detail})"
    )
