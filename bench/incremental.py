"""One more day of data on top of a built warehouse: new orders and events for the day after
the latest one, written as new files next to the existing ones (as a daily drop would be)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def add_one_day(
    landing: Path, seed: int, order_share: float = 0.004, event_share: float = 0.05
) -> str:
    """Returns the new day. About `order_share` of customers order and `event_share` of
    customers are active on it."""
    con = duckdb.connect()
    try:
        con.execute(f"select setseed({(seed % 1000) / 1000})")
        orders = f"read_parquet('{landing / 'orders.parquet'}')"
        day = con.execute(f"select cast(max(ordered_at) as date) + 1 from {orders}").fetchall()[0][
            0
        ]
        for entity in ("orders", "events"):
            (landing / entity).mkdir(exist_ok=True)
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
