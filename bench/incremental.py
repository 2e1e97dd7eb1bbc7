"""More days of data on top of a built warehouse: new orders and events for the day after
the latest one, written as new files next to the existing ones (as a daily drop would be)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

# The weekly grid of the historical training cutoffs (dbt var training_anchor_days).
ANCHOR_EPOCH, ANCHOR_DAYS = date(2000, 1, 3), 7


def anchor_of(as_of: date) -> date:
    return as_of - timedelta(days=(as_of - ANCHOR_EPOCH).days % ANCHOR_DAYS)


def add_days_until_the_anchor_moves(landing: Path, seed: int) -> list[str]:
    """Daily drops up to the first as-of date (the day after the newest data) on the next
    anchor: the refresh after them rebuilds the historical snapshots, as happens once a week."""
    day_after = timedelta(days=1)
    start = anchor_of(_latest_order_day(landing) + day_after)
    days = [add_one_day(landing, seed)]
    while anchor_of(date.fromisoformat(days[-1]) + day_after) == start:
        days.append(add_one_day(landing, seed + len(days)))
    return days


def _latest_order_day(landing: Path) -> date:
    con = duckdb.connect()
    try:
        return con.execute(
            f"select cast(max(ordered_at) as date) from {_orders(landing)}"
        ).fetchone()[0]
    finally:
        con.close()


def _orders(landing: Path) -> str:
    files = [landing / "orders.parquet", *sorted((landing / "orders").glob("*.parquet"))]
    return f"read_parquet({[str(f) for f in files]!r}, union_by_name = true)"


def add_one_day(
    landing: Path, seed: int, order_share: float = 0.004, event_share: float = 0.05
) -> str:
    """Returns the new day. About `order_share` of customers order and `event_share` of
    customers are active on it."""
    con = duckdb.connect()
    try:
        con.execute(f"select setseed({(seed % 1000) / 1000})")
        for entity in ("orders", "events"):
            (landing / entity).mkdir(exist_ok=True)
        day = _latest_order_day(landing) + timedelta(days=1)
        customers = f"read_parquet('{landing / 'customers.parquet'}')"
        con.execute(
            f"""
            copy (
                select 'N' || lpad(
                           cast(row_number() over (order by customer_id) as varchar), 9, '0'
                       ) as order_id,
                       customer_id,
                       timestamp '{day}' + to_seconds(cast(random() * 86399 as bigint))
                           as ordered_at,
                       round(20 + random() * 150, 2) as amount,
                       'completed' as status
                from {customers} where random() < {order_share}
            ) to '{landing / "orders" / f"{day}.parquet"}' (format parquet)
            """
        )
        con.execute(
            f"""
            copy (
                select customer_id,
                       timestamp '{day}' + to_seconds(cast(random() * 86399 as bigint))
                           as occurred_at,
                       (['session_start', 'page_view', 'product_view', 'login', 'email_open'])
                           [1 + cast(floor(random() * 5) as integer)] as event_type,
                       cast(null as varchar) as properties
                from {customers}, range(3) where random() < {event_share}
            ) to '{landing / "events" / f"{day}.parquet"}' (format parquet)
            """
        )
    finally:
        con.close()
    return str(day)
