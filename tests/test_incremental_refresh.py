"""A daily refresh that appends new files (raw load, typed events and daily activity kept
incrementally, historical feature snapshots kept while their inputs are unchanged) gives
exactly what a full rebuild of the same files gives."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from tests.refresh import build_selection, query, refresh

# Everything the warehouse build reads or writes before the ML: raw loads and the dbt models.

# Table -> columns that legitimately differ between runs (load bookkeeping).
COMPARED = {
    "staging.stg_landing__events": [],
    "quarantine.quarantine_events": [],
    "staging.base_landing__orders": [],
    "staging.base_landing__order_items": [],
    "staging.stg_landing__orders": [],
    "staging.stg_landing__order_items": [],
    "quarantine.quarantine_orders": [],
    "intermediate.int_completed_orders": ["_orders_batch", "_valid_through", "_check_settings"],
    "intermediate.int_order_categories": [
        "_orders_batch",
        "_lines_batch",
        "_valid_through",
        "_check_settings",
    ],
    "intermediate.int_customer_event_days": ["last_batch"],
    "intermediate.int_customer_daily_activity": [],
    "intermediate.int_customers": [],
    "intermediate.int_feature_cutoffs": [],
    "intermediate.int_customer_order_snapshots": [],
    "intermediate.int_customer_rfm_snapshots": [],
    "intermediate.int_customer_engagement_windows": [],
    "intermediate.int_customer_engagement_snapshots": [],
    "intermediate.int_customer_future_orders": [],
    "marts.churn_training_set": [],
    "marts.customer_category_snapshots": [],
    "marts.category_association_snapshots": [],
    "marts.customer_new_categories": [],
    "marts.customer_engagement": [],
    "marts.customer_feature_snapshots": [],
    "marts.customer_features": [],
    "marts.run_context": [],
    # The behaviour models: events sessionized and seasons computed per customer, kept for the
    # customers whose inputs did not change (their fingerprints must match a full build's too).
    "intermediate.int_behaviour_events": [],
    "intermediate.int_behaviour_sessions": [],
    "intermediate.int_purchase_decisions": [],
    "intermediate.int_customer_channel_responses": [],
    "intermediate.int_category_purchase_days": [],
    "intermediate.int_category_seasons": [],
    "marts.customer_behaviour": [],
    "marts.customer_channel_responses": [],
    "marts.customer_category_cadence": [],
    "marts.customer_category_seasonality": [],
    "quarantine.load_audit": ["loaded_at"],
}


def _build(landing: Path, warehouse: Path, run_config: dict | None = None) -> None:
    refresh(
        landing,
        warehouse,
        asset_selection=build_selection(landing, warehouse),
        run_config=run_config,
    )


def _split_last_days(landing: Path, entity: str, column: str, days: int, drop: Path) -> list[str]:
    """Move the rows of the last `days` dates of `entity` into one file per date under `drop`;
    returns the dates, oldest first."""
    source = landing / f"{entity}.csv"
    con = duckdb.connect()
    con.execute(f"create table rows as select * from read_csv('{source}', all_varchar = true)")
    dates = [
        row[0]
        for row in con.execute(
            f"select distinct left({column}, 10) as day from rows order by day desc limit {days}"
        ).fetchall()
    ][::-1]
    (drop / entity).mkdir(parents=True, exist_ok=True)
    for day in dates:
        con.execute(
            f"copy (select * from rows where left({column}, 10) = '{day}') "
            f"to '{drop / entity / f'{day}.csv'}' (header)"
        )
    con.execute(
        f"copy (select * from rows where left({column}, 10) < '{dates[0]}') to '{source}' (header)"
    )
    con.close()
    return dates


def _drop_day(drop: Path, landing: Path, day: str) -> None:
    for entity in ("orders", "events"):
        source = drop / entity / f"{day}.csv"
        if source.exists():
            (landing / entity).mkdir(exist_ok=True)
            shutil.copy(source, landing / entity / source.name)


# Marks rows that a run must not recompute: historical snapshots with unchanged inputs.
TAMPERED = "intermediate.int_customer_order_snapshots"
MARK = 1000


class Builds(NamedTuple):
    stepwise: Path
    full: Path
    historical_rows: int  # historical rows of TAMPERED before the plain daily drop
    kept_rows: int  # of those, still marked after it (kept, not recomputed)


@pytest.fixture(scope="module")
def stepwise_and_full(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    from demo_data import generate, write_dataset

    root = tmp_path_factory.mktemp("incremental")
    landing, drop = root / "landing", root / "drop"
    write_dataset(generate(n_customers=300, seed=11), landing, root / "truth")
    days = _split_last_days(landing, "events", "occurred_at", 2, drop)
    _split_last_days(landing, "orders", "ordered_at", 2, drop)
    # The first drop also brings a late event for a day that already has events (its counts
    # must grow, not be replaced; the newest day of history, after every historical label
    # window) and a line the parser rejects.
    customer, old_day = query_one(
        landing / "events.csv",
        "select customer_id, left(max(occurred_at), 10) from src "
        "group by 1 order by 2 desc, 1 limit 1",
    )
    with (drop / "events" / f"{days[0]}.csv").open("a") as late:
        late.write(f"{customer},{old_day} 23:59:00,login,\n{customer},{old_day}\n")

    stepwise = root / "stepwise.duckdb"
    _build(landing, stepwise)
    # ... and a late order inside the newest historical cutoff's windows, which changes its
    # snapshots: they must be rebuilt, not kept. The second drop is a plain new day: the
    # historical cutoffs (anchored on Monday 2025-12-29 for all three as-of dates) are kept.
    newest = query(
        stepwise,
        "select max(cutoff_date) as d from intermediate.int_feature_cutoffs where not is_current",
    )["d"][0]
    # It also brings another row for the only order of a one-order customer, naming another
    # customer: the dated file sorts before orders.csv, so the duplicate rule now prefers it and
    # the order moves (the kept order models must renumber both customers, one of them to none).
    moved_order, moved_at = query_one(
        landing / "orders.csv",
        "select order_id, ordered_at from src qualify count(*) over (partition by customer_id) = 1 "
        "order by order_id limit 1",
    )
    with (drop / "orders" / f"{days[0]}.csv").open("a") as late:
        ordered_at = f"{newest - timedelta(days=10):%Y-%m-%d} 12:00:00"
        late.write(f"LATE00001,{customer},{ordered_at},42.50,completed\n")
        late.write(f"{moved_order},{customer},{moved_at},15.00,completed\n")

    _drop_day(drop, landing, days[0])
    _build(landing, stepwise)
    _execute(
        stepwise,
        f"update {TAMPERED} set refunded_orders = refunded_orders + {MARK} where not is_current",
    )
    historical_rows = _count(stepwise, "not is_current")
    _drop_day(drop, landing, days[1])
    _build(landing, stepwise)
    marked = f"not is_current and refunded_orders >= {MARK}"
    kept_rows = _count(stepwise, marked)
    _execute(
        stepwise, f"update {TAMPERED} set refunded_orders = refunded_orders - {MARK} where {marked}"
    )
    full = root / "full.duckdb"
    _build(landing, full)
    return Builds(stepwise, full, historical_rows, kept_rows)


def _count(warehouse: Path, condition: str) -> int:
    return int(query(warehouse, f"select count(*) as n from {TAMPERED} where {condition}")["n"][0])


def _execute(warehouse: Path, sql: str) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(sql)
    con.close()


def query_one(csv: Path, sql: str):
    con = duckdb.connect()
    con.execute(f"create view src as select * from read_csv('{csv}', all_varchar = true)")
    row = con.execute(sql).fetchall()[0]
    con.close()
    return row[0] if len(row) == 1 else row


def test_the_stepwise_build_really_appended(stepwise_and_full: Builds) -> None:
    stepwise, full, *_ = stepwise_and_full
    mode = query(stepwise, "select load_mode from raw.events_load")["load_mode"].tolist()
    assert mode == ["append"]
    batches = query(
        stepwise, "select count(distinct _batch) as n from staging.base_landing__events_parsed"
    )["n"][0]
    assert batches == 3  # history, then two daily drops, each typed once
    assert query(full, "select load_mode from raw.events_load")["load_mode"].tolist() == ["full"]


def test_a_plain_daily_drop_keeps_the_historical_snapshots(stepwise_and_full: Builds) -> None:
    # Every historical row marked before the drop is still marked: none was recomputed. (The
    # late order of the drop before changed them: the comparisons below show that drop rebuilt
    # them, since the kept rows equal a full rebuild's.)
    assert stepwise_and_full.historical_rows > 0
    assert stepwise_and_full.kept_rows == stepwise_and_full.historical_rows


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_incremental_build_equals_a_full_rebuild(stepwise_and_full: Builds, table: str) -> None:
    stepwise, full, *_ = stepwise_and_full
    excluded = COMPARED[table]
    columns = f"* exclude ({', '.join(excluded)})" if excluded else "*"
    sql = f"select {columns} from {table} order by all"
    incremental_rows, full_rows = query(stepwise, sql), query(full, sql)
    assert len(full_rows) > 0
    assert incremental_rows.equals(full_rows), table


def test_a_corrected_old_file_rebuilds_the_incremental_tables(
    stepwise_and_full: Builds, tmp_path: Path
) -> None:
    stepwise = stepwise_and_full.stepwise
    landing = stepwise.parent / "landing"
    working = tmp_path / "stepwise.duckdb"
    shutil.copy(stepwise, working)
    # A correction to history: one event file loses its first data line.
    day_file = sorted((landing / "events").glob("*.csv"))[0]
    original, stat = day_file.read_bytes(), day_file.stat()
    lines = day_file.read_text().splitlines(keepends=True)
    day_file.write_text("".join([lines[0], *lines[2:]]))
    try:
        _build(landing, working)
    finally:  # the other tests share the landing folder
        day_file.write_bytes(original)
        os.utime(day_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert query(working, "select load_mode from raw.events_load")["load_mode"][0] == "full"
    # The kept tables now hold exactly what the reloaded raw rows give when aggregated afresh.
    raw_rows = query(working, "select count(*) as n from raw.events")["n"][0]
    typed_rows = query(working, "select count(*) as n from staging.base_landing__events_parsed")
    assert typed_rows["n"][0] == raw_rows == lines_before(stepwise) - 1
    kept = "select * exclude (last_batch) from intermediate.int_customer_event_days order by all"
    afresh = """
        select customer_id, cast(occurred_at as date) as activity_date, count(*) as events,
               count(*) filter (where event_type = 'login') as login
        from staging.base_landing__events_parsed where parse_reject_reason is null
        group by all order by all
    """
    kept_rows = query(working, kept)[["customer_id", "activity_date", "events", "login"]]
    assert kept_rows.equals(query(working, afresh))


def lines_before(warehouse: Path) -> int:
    return int(query(warehouse, "select count(*) as n from raw.events")["n"][0])


def test_full_refresh_rebuilds_incremental_models_from_the_raw_tables(
    stepwise_and_full: Builds, tmp_path: Path
) -> None:
    stepwise, full, *_ = stepwise_and_full
    working = tmp_path / "stepwise.duckdb"
    shutil.copy(stepwise, working)
    # Typed rows that no longer match the raw table (as after a change to the parsing code):
    # an incremental run would keep them, a full refresh retypes everything.
    con = duckdb.connect(str(working))
    con.execute(
        "delete from staging.base_landing__events_parsed "
        "where _batch = (select min(_batch) from staging.base_landing__events_parsed)"
    )
    con.close()
    _build(
        stepwise.parent / "landing",
        working,
        run_config={"ops": {"dbt_models": {"config": {"full_refresh": True}}}},
    )
    for table in ("staging.stg_landing__events", "intermediate.int_customer_daily_activity"):
        sql = f"select * from {table} order by all"
        assert query(working, sql).equals(query(full, sql)), table


def test_a_changed_amount_limit_rebuilds_the_kept_order_models(
    stepwise_and_full: Builds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    working = tmp_path / "stepwise.duckdb"
    shutil.copy(stepwise_and_full.stepwise, working)
    # A lower amount limit (INSIGHTS_MAX_ABS_AMOUNT) quarantines the largest 5% of the orders
    # without any new file: the order models kept by customer must follow the setting.
    top = "select quantile_cont(amount, 0.95) as m from staging.stg_landing__orders"
    limit = query(working, top)["m"][0]
    orders_before = query(working, "select count(*) as n from intermediate.int_completed_orders")
    monkeypatch.setenv("INSIGHTS_MAX_ABS_AMOUNT", str(float(limit)))
    _build(stepwise_and_full.stepwise.parent / "landing", working)
    kept = """
        select order_id, customer_id, ordered_at, amount, order_number, days_since_previous_order
        from intermediate.int_completed_orders order by all
    """
    afresh = """
        select order_id, customer_id, ordered_at, amount,
               row_number() over history as order_number,
               date_diff('second', lag(ordered_at) over history, ordered_at) / 86400.0
                   as days_since_previous_order
        from staging.stg_landing__orders where status = 'completed'
        window history as (partition by customer_id order by ordered_at, order_id)
        order by all
    """
    kept_rows = query(working, kept)
    assert 0 < len(kept_rows) < orders_before["n"][0]
    assert kept_rows.equals(query(working, afresh))
    lines = "select count(*) as n from intermediate.int_order_categories"
    joined = """
        select count(*) as n from staging.stg_landing__order_items
        join intermediate.int_completed_orders using (order_id)
    """
    assert query(working, lines)["n"][0] == query(working, joined)["n"][0]


def test_a_customer_whose_inputs_are_gone_leaves_the_tables_kept_by_customer(
    stepwise_and_full: Builds, tmp_path: Path
) -> None:
    stepwise, full, *_ = stepwise_and_full
    landing = stepwise.parent / "landing"
    working = tmp_path / "stepwise.duckdb"
    shutil.copy(stepwise, working)
    # A customer with sessionized events and seasons loses every event and order (a corrected
    # source): the kept rows must go (tombstones), everyone else's seasons stay as they were.
    gone = query(
        stepwise,
        "select customer_id from intermediate.int_category_seasons "
        "where customer_id in (select customer_id from intermediate.int_behaviour_events) "
        # Not active on the newest day: the as-of date (the day after it) must not move.
        "and customer_id not in (select customer_id from intermediate.int_behaviour_events "
        "where occurred_at >= (select max(occurred_at) - interval 1 day "
        "from intermediate.int_behaviour_events)) "
        "order by customer_id limit 1",
    )["customer_id"][0]
    files = [
        *landing.glob("events.csv"),
        *landing.glob("events/*.csv"),
        *landing.glob("orders.csv"),
        *landing.glob("orders/*.csv"),
    ]
    saved = {path: (path.read_bytes(), path.stat()) for path in files}
    removed = {"events": 0, "orders": 0}
    try:
        for path in files:
            lines = path.read_text().splitlines(keepends=True)
            # customer_id is the first column of events and the second of orders.
            kept = [line for line in lines if gone not in line.split(",")[:2]]
            entity = path.stem if path.parent == landing else path.parent.name
            removed[entity] += len(lines) - len(kept)
            path.write_text("".join(kept))
        assert removed["events"] > 0 and removed["orders"] > 0, removed
        _build(landing, working)
    finally:  # the other tests share the landing folder
        for path, (content, stat) in saved.items():
            path.write_bytes(content)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    for table in ("intermediate.int_behaviour_events", "intermediate.int_category_seasons"):
        left = query(
            working,
            f"select count(*) filter (where customer_id = '{gone}') as customer, "
            f"count(*) filter (where _inputs_fingerprint is null) as tombstones from {table}",
        )
        assert left["customer"][0] == 0 and left["tombstones"][0] == 0, table
    as_of = "select as_of_date from marts.run_context"
    assert query(working, as_of).equals(query(full, as_of))
    others = (
        "select * from intermediate.int_category_seasons "
        f"where customer_id <> '{gone}' order by all"
    )
    assert query(working, others).equals(query(full, others))
