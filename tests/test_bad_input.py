"""Messy landing files: every unusable row is quarantined with a reason, nothing is lost, and a
file that cannot be used at all fails with a message that says what to fix."""

from pathlib import Path

import pandas as pd
import pytest

from tests.refresh import RefreshedWarehouse, refresh

ORDERS = b"""order_id,customer_id,ordered_at,amount,status
o1,A,2024-03-01,10,completed
o2,A,2024-03-02,12.5,completed
,A,2024-03-03,5,completed
o4,,2024-03-03,5,completed
o5,B,yesterday,5,completed
o6,B,2024-03-04,five,completed
o7,B,2099-01-01,5,completed
o8,B,1970-01-01,5,completed
o9,C,2024-03-05,-20,completed
o10,C,2024-03-06,-20,refunded
o1,C,2024-03-07,99,completed
o12,C,2024-03-08,7,lost_in_mail
o13,D,2024-03-09
o14,D,2024-03-09,7,completed,extra
o15,caf\xe9,2024-03-10,7,completed
o16,E,2024-03-11,8,
o17,NEW,2024-03-12,9,shipped
o18,B,1949-12-31,5,completed
"""
EXPECTED_ORDER_REASONS = {
    4: "missing_order_id",
    5: "missing_customer_id",
    6: "unparseable_date",
    7: "unparseable_amount",
    8: "future_date",
    9: "placeholder_date",
    10: "negative_amount",
    12: "duplicate_order_id",
    13: "unknown_status",
    14: "malformed_row",
    15: "malformed_row",
    16: "malformed_row",
    19: "date_too_old",
}
CUSTOMERS = """customer_id,signup_at,country,acquisition_channel,email,marketing_opt_in
A,2024-01-01,DE,organic,a@example.com,true
A,2024-01-02,FR,organic,a2@example.com,true
B,not a date,DE,organic,b@example.com,false
C,2024-01-01,DE,organic,c@example.com,maybe
D,2024-01-01,DE,organic,d@example.com,yes
E,2024-01-01,DE,organic,e@example.com,no
"""


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    root = tmp_path_factory.mktemp("messy")
    landing = root / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_bytes(ORDERS)
    (landing / "customers.csv").write_text(CUSTOMERS)
    (landing / "events.csv").write_text("")  # an empty file
    (landing / "order_items.csv").write_text("order_id,product_id,category,quantity,unit_price\n")
    # Too few customers for the models: only the load and the marts are under test here. Most
    # rows are bad on purpose, so the quarantine share limit is lifted.
    run = refresh(
        landing,
        root / "warehouse.duckdb",
        as_of="2024-04-01",
        raise_on_error=False,
        settings_overrides={"max_quarantine_share": 1.0},
    )
    assert run.result.is_node_success("dbt_models")
    return run


def test_every_bad_order_row_is_quarantined_with_its_line_and_reason(messy) -> None:
    rows = messy.query("select source_row, reason_code, reason from quarantine.quarantine_orders")
    assert dict(zip(rows["source_row"], rows["reason_code"], strict=True)) == EXPECTED_ORDER_REASONS
    assert rows["reason"].str.len().gt(10).all()
    duplicate = rows[rows["reason_code"] == "duplicate_order_id"]["reason"].iloc[0]
    assert "first in file order" in duplicate


def test_usable_rows_continue(messy) -> None:
    orders = messy.query("select order_id, status, amount from staging.stg_landing__orders")
    assert set(orders["order_id"]) == {"o1", "o2", "o10", "o16", "o17"}
    statuses = dict(zip(orders["order_id"], orders["status"], strict=True))
    assert statuses["o16"] == "completed"  # a missing status means completed
    assert statuses["o17"] == "completed"  # "shipped" is understood
    assert statuses["o10"] == "refunded"  # refunds may be negative


def test_customers_duplicates_bad_dates_and_missing_customers(messy) -> None:
    quarantined = messy.query("select source_row, reason_code from quarantine.quarantine_customers")
    assert dict(zip(quarantined["source_row"], quarantined["reason_code"], strict=True)) == {
        3: "duplicate_customer_id",
        4: "unparseable_date",
    }
    features = messy.query("select * from marts.customer_features").set_index("customer_id")
    # NEW ordered but is not in the customers file: kept, created, flagged.
    assert not features.loc["NEW", "in_customers_file"]
    assert features.loc["A", "in_customers_file"]
    consent = features["marketing_opt_in"]
    assert consent["A"] and consent["D"] and not consent["E"]
    assert pd.isna(consent["C"])  # "maybe" is unknown consent, not a lost customer


def test_rows_read_equal_staged_plus_quarantined(messy) -> None:
    audit = messy.query("select * from quarantine.load_audit").set_index("entity")
    assert (audit["rows_unaccounted"] == 0).all()
    assert audit.loc["orders", "rows_read"] == 18
    assert audit.loc["orders", "rows_staged"] == 5
    assert audit.loc["orders", "rows_quarantined"] == 13
    assert audit.loc["events", "rows_read"] == 0  # an empty file
    assert audit.loc["order_items", "rows_read"] == 0  # a header only
    checks = {c.check_name: c.passed for c in messy.result.get_asset_check_evaluations()}
    assert checks["accepted_values_load_audit_rows_unaccounted__0"]


def test_a_file_missing_a_required_column_fails_and_changes_nothing_downstream(
    messy, tmp_path: Path
) -> None:
    before = messy.query("select * from marts.customer_features order by customer_id")
    broken = tmp_path / "landing"
    broken.mkdir()
    (broken / "orders.csv").write_text("order_id,client,ordered_at,amount\no1,A,2024-03-01,10\n")
    run = refresh(broken, messy.warehouse_path, as_of="2024-04-01", raise_on_error=False)
    assert not run.result.success
    failure = run.result.failure_data_for_node("raw__orders").user_failure_data.description
    assert "orders.csv" in failure
    assert "'customer_id'" in failure
    assert "`orders.columns.customer_id`" in failure
    after = messy.query("select * from marts.customer_features order by customer_id")
    pd.testing.assert_frame_equal(before, after)
