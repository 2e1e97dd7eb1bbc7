"""The demo data as a bare transactions export plus the mapping.yaml that reads it.

This is the shape many shops can export: ``customer;date;number_of_items;value`` with day-first
dates and decimal commas, no order ids, no customers file, no events. It exercises the mapping
and the transactions-only path end to end.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from demo_data.generator import DemoDataset
from demo_data.writer import (
    DEMO_MARKER,
    WrittenFiles,
    prepare_folder,
    register_dataset,
    write_truth,
)

MAPPING_YAML = """\
# Maps a transactions export onto the orders contract (see README, "Your own data").
orders:
  files: transactions.csv
  delimiter: ";"
  date_format: "%d/%m/%Y"
  decimal_separator: ","
  columns:
    customer_id: customer
    ordered_at: date
    amount: value
"""

_TRANSACTIONS_SQL = """
    select customer_id(orders_df.customer_idx) as customer,
           strftime(day_ts(orders_df.day), '%d/%m/%Y') as date,
           coalesce(items.units, 1) as number_of_items,
           replace(printf('%.2f', orders_df.amount), '.', ',') as value
    from orders_df
    left join (
        select order_idx, sum(quantity) as units from items_df group by order_idx
    ) as items using (order_idx)
    where orders_df.status = 0
    order by orders_df.order_idx
"""


def write_transactions_export(
    dataset: DemoDataset, landing_dir: Path, truth_dir: Path, force: bool = False
) -> WrittenFiles:
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    prepare_folder(landing_dir, force)
    prepare_folder(truth_dir, force=True)
    con = duckdb.connect()
    try:
        register_dataset(con, dataset)
        target = landing_dir / "transactions.csv"
        rows = con.execute(
            f"copy ({_TRANSACTIONS_SQL}) to '{target}' (header, delimiter ';')"
        ).fetchone()[0]
        write_truth(con, truth_dir)
    finally:
        con.close()
    (landing_dir / "mapping.yaml").write_text(MAPPING_YAML)
    (landing_dir / DEMO_MARKER).write_text(
        "Written by `insights demo-data --shape transactions`.\n"
    )
    return WrittenFiles(landing_dir, truth_dir, {"transactions": rows})
