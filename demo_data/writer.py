"""Write a generated demo data set as landing files (contract-shaped) plus its ground truth."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from demo_data.behaviour import CONTACT_CHANNELS, DECISION_STYLES
from demo_data.category_habits import TRUTH_COLUMNS
from demo_data.generator import (
    CATEGORIES,
    CATEGORY_PAIRS,
    CHANNELS,
    COUNTRIES,
    EVENT_TYPES,
    PRODUCTS_PER_CATEGORY,
    DemoDataset,
)
from demo_data.personas import PERSONA_NAMES

# Left in a landing folder the generator wrote, so it may overwrite that folder next time.
DEMO_MARKER = ".demo-data"
FORMATS = ("csv", "parquet")


class LandingNotEmptyError(RuntimeError):
    pass


@dataclass
class WrittenFiles:
    landing_dir: Path
    truth_dir: Path
    row_counts: dict[str, int]


def write_dataset(
    dataset: DemoDataset,
    landing_dir: Path,
    truth_dir: Path,
    file_format: str = "csv",
    include: tuple[str, ...] = ("customers", "orders", "order_items", "events"),
    force: bool = False,
) -> WrittenFiles:
    """Write the landing files; refuses to overwrite a folder it did not write unless forced."""
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {file_format!r}")
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    prepare_folder(landing_dir, force)
    prepare_folder(truth_dir, force=True)
    con = duckdb.connect()
    try:
        register_dataset(con, dataset)
        counts = {}
        for entity in include:
            target = landing_dir / f"{entity}.{file_format}"
            counts[entity] = _copy(con, _ENTITY_SQL[entity], target, file_format)
        has_behaviour = "events" in include and dataset.behaviour_truth is not None
        write_truth(con, truth_dir, behaviour=has_behaviour)
    finally:
        con.close()
    (landing_dir / DEMO_MARKER).write_text(
        f"Written by `insights demo-data` ({len(dataset.customers)} customers).\n"
    )
    return WrittenFiles(landing_dir, truth_dir, counts)


def prepare_folder(folder: Path, force: bool) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not force and not (folder / DEMO_MARKER).exists():
            raise LandingNotEmptyError(
                f"{folder} holds files the demo generator did not write; "
                "choose an empty folder or pass --force to replace them"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def register_dataset(con: duckdb.DuckDBPyConnection, dataset: DemoDataset) -> None:
    con.register("customers_df", dataset.customers)
    con.register("orders_df", dataset.orders)
    con.register("items_df", dataset.order_items)
    con.register("events_df", dataset.events)
    con.register("truth_df", dataset.truth)
    habits = dataset.habits if dataset.habits is not None else pd.DataFrame(columns=TRUTH_COLUMNS)
    con.register("habits_df", habits)
    if dataset.behaviour_truth is not None:
        con.register("behaviour_truth_df", dataset.behaviour_truth)
    lookups = {
        "country_label": COUNTRIES,
        "channel_label": CHANNELS,
        "category_label": CATEGORIES,
        "event_type_label": EVENT_TYPES,
        "persona_label": PERSONA_NAMES,
        "contact_channel_label": CONTACT_CHANNELS,
        "decision_style_label": DECISION_STYLES,
    }
    # List lookups instead of joins keep each file in generation order (deterministic bytes).
    for name, values in lookups.items():
        labels = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
        con.execute(f"create or replace macro {name}(code) as ([{labels}])[code + 1]")
    con.execute(f"create or replace macro start_ts() as timestamp '{dataset.start} 00:00:00'")
    # Day fractions become whole seconds since the start of the history.
    con.execute(
        "create or replace macro day_ts(d) as "
        "start_ts() + to_seconds(cast(floor(d * 86400) as bigint))"
    )
    con.execute(
        "create or replace macro customer_id(i) as 'C' || lpad(cast(i + 1 as varchar), 7, '0')"
    )
    con.execute(
        "create or replace macro product_id(p) as 'P' || lpad(cast(p + 1 as varchar), 3, '0')"
    )


_TS = "strftime(day_ts({col}), '%Y-%m-%d %H:%M:%S')"

_ENTITY_SQL = {
    "customers": f"""
        select customer_id(customer_idx) as customer_id,
               {_TS.format(col="signup_day")} as signup_at,
               country_label(country) as country,
               channel_label(channel) as acquisition_channel,
               lower(customer_id(customer_idx)) || '@example.com' as email,
               opt_in as marketing_opt_in
        from customers_df
    """,
    "orders": f"""
        select 'O' || lpad(cast(order_idx + 1 as varchar), 8, '0') as order_id,
               customer_id(customer_idx) as customer_id,
               {_TS.format(col="day")} as ordered_at,
               amount,
               case status when 0 then 'completed' when 1 then 'cancelled' else 'refunded' end
                   as status
        from orders_df
    """,
    "order_items": """
        select 'O' || lpad(cast(order_idx + 1 as varchar), 8, '0') as order_id,
               product_id(product) as product_id,
               category_label(category) as category,
               quantity,
               unit_price
        from items_df
    """,
    "events": f"""
        select customer_id(customer_idx) as customer_id,
               {_TS.format(col="day")} as occurred_at,
               event_type_label(event_type) as event_type,
               case
                   when product >= 0 and channel >= 0
                   then '{{"product_id": "' || product_id(product) || '", "channel": "'
                        || contact_channel_label(channel) || '"}}'
                   when product >= 0
                   then '{{"product_id": "' || product_id(product) || '"}}'
                   when channel >= 0
                   then '{{"channel": "' || contact_channel_label(channel) || '"}}'
               end as properties
        from events_df
    """,
}
assert PRODUCTS_PER_CATEGORY * len(CATEGORIES) <= 999  # product ids have three digits

_TRUTH_SQL = """
    select customer_id(customer_idx) as customer_id,
           persona_label(persona) as persona,
           cast(day_ts(churn_day) as date) as churn_date,
           round(mean_interval_days, 1) as mean_interval_days
    from truth_df
"""

# Planted decision style and preferred channel (demo_data/behaviour.py).
_BEHAVIOUR_TRUTH_SQL = """
    select customer_id(customer_idx) as customer_id,
           decision_style_label(decision_style) as decision_style,
           contact_channel_label(preferred_channel) as preferred_channel
    from behaviour_truth_df
"""

# Planted category habits: replenishment cycle (days) or season months ("5,6"), and how many
# purchases and distinct years were planted.
_HABITS_TRUTH_SQL = """
    select customer_id(customer_idx) as customer_id, habit, category, cycle_days, season_months,
           planted_purchases, planted_years
    from habits_df
    order by customer_idx, habit
"""


def write_truth(con: duckdb.DuckDBPyConnection, truth_dir: Path, behaviour: bool = False) -> None:
    """Personas, churn dates, planted category pairs and category habits, for tests to check the
    models against; with `behaviour` (the events file is written) the planted decision styles
    and channels."""
    _copy(con, _TRUTH_SQL, truth_dir / "customers_truth.csv", "csv")
    _copy(con, _HABITS_TRUTH_SQL, truth_dir / "category_cadence_truth.csv", "csv")
    if behaviour:
        _copy(con, _BEHAVIOUR_TRUTH_SQL, truth_dir / "behaviour_truth.csv", "csv")
    pairs = pd.DataFrame(CATEGORY_PAIRS, columns=["antecedent", "consequent", "probability"])
    pairs.to_csv(truth_dir / "category_pairs.csv", index=False)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path, file_format: str) -> int:
    options = "(format parquet, compression zstd)" if file_format == "parquet" else "(header)"
    return con.execute(f"copy ({sql}) to '{target}' {options}").fetchone()[0]
