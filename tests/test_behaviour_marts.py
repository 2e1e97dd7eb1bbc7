"""Replenishment cadence and seasonality marts on a tiny data set worked out by hand, run with
dbt alone (no Dagster): values, point in time, and the reasons when a mart must stay empty.

As of 2026-01-01:
- A buys Detergent every 90 days (2025-01-10, 04-10, 07-09, 10-07) and once more on
  2026-01-03, after the as-of date (invisible). Median gap 90, next due 2026-01-05, due in 4
  days. Socks only twice: below replenishment_min_purchases, no row.
- B buys Coffee on 2025-03-01, 04-01 and twice on 05-01 (one purchase day, two orders): gaps 31
  and 30, median 30.5, next due 05-01 + 31 = 06-01, 214 days overdue and lapsed (245 days since
  the last purchase > 2 x 30.5).
- S buys Books on the 15th of every month 2023-01..2025-12 (36 days) and Swimwear only in May:
  2023-05-20, 2024-05-10, 2024-05-25, 2025-05-20. 7 of S's 40 purchase days are in May, so
  p = 7/40 and P(all 4 Swimwear days in May) x 12 = 12 x 0.175^4 = 0.011255: seasonal in May.
  Books: 9 of 36 days in any 3 months, concentration 0.25, not seasonal.
- D buys Toys and Books only in December (3 years): concentrated, but so is everything D buys
  (p = 1), so not seasonal.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.contract import ENTITIES
from ingest.landing import load_entity
from ingest.mapping import parse_mapping
from tests.refresh import query
from tests.support.dbt_cli import run_dbt

BEHAVIOUR_MODELS = "+customer_category_cadence +customer_category_seasonality +int_behaviour_notes"
RERUN_MODELS = (
    "int_run_context int_category_purchase_days int_category_seasons customer_category_cadence "
    "customer_category_seasonality int_behaviour_notes"
)


def _orders_and_lines() -> tuple[list[tuple], list[tuple]]:
    purchases = [
        ("A", "2025-01-10", "Detergent"),
        ("A", "2025-04-10", "Detergent"),
        ("A", "2025-07-09", "Detergent"),
        ("A", "2025-10-07", "Detergent"),
        ("A", "2026-01-03", "Detergent"),
        ("A", "2025-02-01", "Socks"),
        ("A", "2025-08-01", "Socks"),
        ("B", "2025-03-01", "Coffee"),
        ("B", "2025-04-01", "Coffee"),
        ("B", "2025-05-01", "Coffee"),
        ("B", "2025-05-01", "Coffee"),
        ("S", "2023-05-20", "Swimwear"),
        ("S", "2024-05-10", "Swimwear"),
        ("S", "2024-05-25", "Swimwear"),
        ("S", "2025-05-20", "Swimwear"),
    ]
    purchases += [
        ("S", f"{y}-{m:02d}-15", "Books") for y in (2023, 2024, 2025) for m in range(1, 13)
    ]
    for year in (2023, 2024, 2025):
        purchases += [("D", f"{year}-12-05", "Toys"), ("D", f"{year}-12-10", "Books")]
    orders, lines = [], []
    for i, (customer, day, category) in enumerate(purchases):
        orders.append((f"o{i}", customer, f"{day} 12:00:00", 20.0, "completed"))
        lines.append((f"o{i}", f"p-{category}", category, 1, 20.0))
    return orders, lines


def _warehouse(root: Path, with_lines: bool = True) -> Path:
    landing = root / "landing"
    landing.mkdir(parents=True)
    orders, lines = _orders_and_lines()
    pd.DataFrame(
        orders, columns=["order_id", "customer_id", "ordered_at", "amount", "status"]
    ).to_csv(landing / "orders.csv", index=False)
    if with_lines:
        pd.DataFrame(
            lines, columns=["order_id", "product_id", "category", "quantity", "unit_price"]
        ).to_csv(landing / "order_items.csv", index=False)
    warehouse = root / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        for entity in ENTITIES:
            load_entity(con, landing, parse_mapping({}, None), entity)
    finally:
        con.close()
    return warehouse


def _dbt(
    warehouse: Path, root: Path, as_of: str, select: str = RERUN_MODELS, command: str = "run"
) -> None:
    """Build (models, seeds and the tests of what is selected) or re-run the behaviour models."""
    variables = {"warehouse_path": str(warehouse), "as_of": as_of, "run_date": "2026-01-10"}
    build = run_dbt(command, select, variables, root, "--indirect-selection", "cautious")
    assert build.returncode == 0, build.stdout[-3000:]


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("behaviour")
    warehouse = _warehouse(root)
    _dbt(warehouse, root, "2026-01-01", BEHAVIOUR_MODELS, "build")
    return warehouse


def test_cadence_by_hand(hand: Path) -> None:
    cadence = query(
        hand, "select * from marts.customer_category_cadence order by customer_id, category"
    )
    assert cadence[["customer_id", "category"]].values.tolist() == [
        ["A", "Detergent"],
        ["B", "Coffee"],
        ["D", "Books"],
        ["D", "Toys"],
        ["S", "Books"],
        ["S", "Swimwear"],
    ]
    a, b = cadence.iloc[0], cadence.iloc[1]
    assert (a["purchase_days"], a["median_gap_days"], a["due_in_days"]) == (4, 90.0, 4)
    assert str(a["last_bought_date"])[:10] == "2025-10-07"  # not the 2026-01-03 purchase
    assert str(a["next_due_date"])[:10] == "2026-01-05"
    assert not a["is_overdue"] and not a["is_lapsed"] and a["due_rank"] == 1 and a["gap_cv"] == 0
    assert (b["orders_with_category"], b["purchase_days"], b["median_gap_days"]) == (4, 3, 30.5)
    assert str(b["next_due_date"])[:10] == "2025-06-01" and b["due_in_days"] == -214
    assert b["is_overdue"] and b["is_lapsed"] and pd.isna(b["due_rank"])


def test_seasonality_by_hand(hand: Path) -> None:
    season = query(
        hand, "select * from marts.customer_category_seasonality order by customer_id, category"
    ).set_index(["customer_id", "category"])
    swim = season.loc[("S", "Swimwear")]
    assert swim["is_seasonal"] and swim["season_months"] == "May"
    assert (swim["season_start_month"], swim["season_length_months"]) == (5, 1)
    assert (swim["season_purchases"], swim["season_years"], swim["concentration"]) == (4, 3, 1.0)
    assert swim["season_p_value"] == pytest.approx(12 * (7 / 40) ** 4, abs=1e-6)
    assert str(swim["next_season_start"])[:10] == "2026-05-01"
    assert swim["days_to_season_start"] == 120 and not swim["in_season"]
    books = season.loc[("S", "Books")]
    assert not books["is_seasonal"] and books["concentration"] == 0.25
    assert pd.isna(books["season_months"]) and pd.isna(books["next_season_start"])
    # Everything D buys is in December: no category is seasonal against D's own months.
    assert not season.loc["D"]["is_seasonal"].any()
    assert season.loc[("D", "Toys"), "concentration"] == 1.0
    notes = query(hand, "select * from intermediate.int_behaviour_notes").iloc[0]
    assert pd.isna(notes["cadence_note"]) and pd.isna(notes["seasonality_note"])


def test_point_in_time_and_short_history(hand: Path, tmp_path: Path) -> None:
    copy = tmp_path / "earlier.duckdb"
    copy.write_bytes(hand.read_bytes())
    # As of 2025-05-20 A has two Detergent purchases (no cadence yet). S's Swimwear purchase on
    # the as-of date itself is invisible: 3 of S's 32 purchase days, 6 of them in May, so
    # P = 12 x (6/32)^3 = 0.0791 > 0.05: three Mays are not yet enough against S's own months.
    _dbt(copy, tmp_path, "2025-05-20")
    cadence = query(copy, "select * from marts.customer_category_cadence")
    assert "A" not in set(cadence["customer_id"])
    assert (pd.to_datetime(cadence["last_bought_date"]) < pd.Timestamp("2025-05-20")).all()
    b = cadence.set_index("customer_id").loc["B"]
    assert (b["purchase_days"], b["median_gap_days"]) == (3, 30.5)
    season = query(
        copy, "select * from marts.customer_category_seasonality where customer_id = 'S'"
    ).set_index("category")
    assert (
        season.loc["Swimwear", "purchase_days"] == 3 and season.loc["Books", "purchase_days"] == 29
    )
    assert season.loc["Swimwear", "season_p_value"] == pytest.approx(12 * (6 / 32) ** 3, abs=1e-6)
    assert not season.loc["Swimwear", "is_seasonal"]
    # As of 2024-06-01 the order lines span 503 days: no seasonality, and the note says why.
    _dbt(copy, tmp_path, "2024-06-01")
    assert query(copy, "select count(*) as n from marts.customer_category_seasonality")["n"][0] == 0
    note = query(copy, "select seasonality_note from intermediate.int_behaviour_notes").iloc[0, 0]
    assert note.startswith("order lines span 503 days") and "season_min_years = 2" in note


def test_orders_without_lines_leave_the_marts_empty_with_a_reason(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path, with_lines=False)
    _dbt(warehouse, tmp_path, "2026-01-01", BEHAVIOUR_MODELS, "build")
    for mart in ("customer_category_cadence", "customer_category_seasonality"):
        assert query(warehouse, f"select count(*) as n from marts.{mart}")["n"][0] == 0
    notes = query(warehouse, "select * from intermediate.int_behaviour_notes").iloc[0]
    assert notes["cadence_note"].startswith("no order lines in the landing data")
    assert notes["seasonality_note"].startswith("no order lines in the landing data")
