"""Numbers that parse but cannot be real (infinite, NaN, 1e300, a quantity beyond INTEGER) are
quarantined with their own reason; the refresh, dbt and the models run on the rest."""

import math
from pathlib import Path

import pandas as pd
import pytest

from demo_data import generate, write_dataset
from orchestration.defs.dbt import dbt_vars
from orchestration.defs.resources import InsightsConfig, WarehouseResource
from orchestration.settings import SettingsError, max_abs_amount
from tests.refresh import RefreshedWarehouse, refresh

BAD_AMOUNTS = {"ORX1": "1e300", "ORX2": "inf", "ORX3": "NaN", "ORX4": "-2e12"}
# (quantity, unit_price) -> reason; each line on an existing, usable order.
BAD_LINES = [
    ("1e300", "5.00", "quantity_out_of_range"),
    ("3000000000", "1.00", "quantity_out_of_range"),  # whole, positive, but not an INTEGER
    ("1000000", "10000000", "amount_out_of_range"),  # each fine, the line total is 1e13
    ("1", "1e300", "amount_out_of_range"),
    ("2", "-inf", "amount_out_of_range"),
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    root = tmp_path_factory.mktemp("out_of_range")
    landing = write_dataset(
        generate(n_customers=500, seed=23), root / "landing", root / "t"
    ).landing_dir
    orders = pd.read_csv(landing / "orders.csv", dtype=str)
    first = orders.iloc[-1]
    with (landing / "orders.csv").open("a") as stream:
        for order_id, amount in BAD_AMOUNTS.items():
            status = "refunded" if amount.startswith("-") else "completed"
            stream.write(f"{order_id},{first.customer_id},{first.ordered_at},{amount},{status}\n")
    with (landing / "order_items.csv").open("a") as stream:
        for quantity, price, _ in BAD_LINES:
            stream.write(f"{first.order_id},PX,Socks,{quantity},{price}\n")
    return refresh(landing, root / "warehouse.duckdb")


def test_out_of_range_amounts_and_quantities_are_quarantined_with_a_reason(hostile) -> None:
    orders = hostile.query(
        "select raw_values, reason_code, reason from quarantine.quarantine_orders "
        "where reason_code = 'amount_out_of_range'"
    )
    assert len(orders) == len(BAD_AMOUNTS)
    assert orders["reason"].str.contains("max_abs_amount").all()
    lines = hostile.query(
        "select reason_code, count(*) as n from quarantine.quarantine_order_items "
        "where reason_code like '%out_of_range' group by 1"
    )
    expected = pd.Series([r for _, _, r in BAD_LINES]).value_counts()
    assert dict(zip(lines["reason_code"], lines["n"], strict=True)) == expected.to_dict()
    audit = hostile.query("select rows_unaccounted from quarantine.load_audit")
    assert (audit["rows_unaccounted"] == 0).all()


def test_models_and_scores_run_on_the_remaining_rows(hostile) -> None:
    assert hostile.result.success
    scored = hostile.query(
        "select max(abs(revenue_last_365d)) as revenue, max(churn_probability) as churn, "
        "count(segment_id) as segmented from analytics.customer_360"
    ).iloc[0]
    assert math.isfinite(scored["revenue"]) and scored["revenue"] < 1e12
    assert 0 <= scored["churn"] <= 1
    assert scored["segmented"] > 0


def test_the_limit_is_a_setting(monkeypatch, tmp_path: Path) -> None:
    assert max_abs_amount({}) == 1e12
    assert max_abs_amount({"INSIGHTS_MAX_ABS_AMOUNT": "5e6"}) == 5e6
    for bad in ("lots", "-1", "inf"):
        with pytest.raises(SettingsError, match="INSIGHTS_MAX_ABS_AMOUNT"):
            max_abs_amount({"INSIGHTS_MAX_ABS_AMOUNT": bad})
    monkeypatch.setenv("INSIGHTS_MAX_ABS_AMOUNT", "250000")
    warehouse = WarehouseResource(database=str(tmp_path / "w.duckdb"))
    assert dbt_vars(InsightsConfig(), warehouse)["max_abs_amount"] == 250000
