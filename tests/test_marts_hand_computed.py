"""Mart values on a tiny data set whose every number was worked out by hand.

As of 2024-04-01 (orders on or after it are invisible):

customer  completed orders (amount)                 recency freq monetary R F M  segment
A         2024-01-31 (50), 03-01 (50), 03-31 (100)   1       3    200      5 5 3  Loyal
B         03-22 (40); a cancelled 03-25 (999)        10      1    40       4 1 2  Promising
C         2023-04-01 (500), 2023-10-01 (500)         183     2    1000     1 4 5  Can't Lose Them
D         02-15 (20); a refunded 02-01 (10)          46      1    20       2 1 1  Hibernating
G         03-01 (300); 2024-05-01 (after as-of)      31      1    300      3 1 4  About to Sleep
E         no orders (customers file only)            -       0    0        - - -  No Purchase Yet
F         first seen 2024-04-03: not a customer yet

Scores: with 5 buyers, score = rank (ties share the lowest rank: B, D, G all have F=1).
"""

from pathlib import Path

import pytest

from tests.refresh import RefreshedWarehouse, build_selection, refresh

ORDERS = """order_id,customer_id,ordered_at,amount,status
a1,A,2024-01-31,50,completed
a2,A,2024-03-01,50,completed
a3,A,2024-03-31,100,
b1,B,2024-03-22,40,Completed
b2,B,2024-03-25,999,cancelled
c1,C,2023-04-01,500,completed
c2,C,2023-10-01,500,completed
d1,D,2024-02-01,10,refunded
d2,D,2024-02-15,20,completed
g1,G,2024-03-01,300,completed
g2,G,2024-05-01,70,completed
f1,F,2024-04-05,25,completed
x1,A,2024-03-02,abc,completed
"""
CUSTOMERS = """customer_id,signup_at,country,acquisition_channel,email,marketing_opt_in
A,2023-12-01,de,Organic, A@Example.com ,yes
E,2024-01-01,fr,paid_search,e@example.com,no
F,2024-04-03,nl,social,f@example.com,
"""
EVENTS = """customer_id,occurred_at,event_type
A,2024-02-10 10:00:00,add_to_cart
A,2024-03-20 09:00:00,email_sent
A,2024-03-21 18:00:00,email_open
A,2024-03-25 12:00:00,session_start
A,2024-03-30 12:00:00,session_start
A,2024-03-30 12:05:00,add_to_cart
A,2024-04-02 12:00:00,session_start
"""


@pytest.fixture(scope="module")
def marts(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    root = tmp_path_factory.mktemp("hand")
    landing = root / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text(ORDERS)
    (landing / "customers.csv").write_text(CUSTOMERS)
    (landing / "events.csv").write_text(EVENTS)
    # Six customers are too few to train the churn model; the marts are what is tested here, so
    # only the loads and dbt models run.
    warehouse = root / "warehouse.duckdb"
    marts = refresh(
        landing,
        warehouse,
        as_of="2024-04-01",
        raise_on_error=False,
        asset_selection=build_selection(landing, warehouse),
    )
    assert marts.result.is_node_success("dbt_models")
    return marts


def _row(marts: RefreshedWarehouse, table: str, customer_id: str) -> dict:
    frame = marts.query(f"select * from marts.{table} where customer_id = ?", [customer_id])
    assert len(frame) == 1, f"{customer_id} should have exactly one row in {table}"
    return frame.iloc[0].to_dict()


def test_population_is_everyone_first_seen_before_the_as_of_date(marts: RefreshedWarehouse) -> None:
    ids = marts.query("select customer_id from marts.customer_rfm order by 1")["customer_id"]
    assert ids.tolist() == ["A", "B", "C", "D", "E", "G"]


@pytest.mark.parametrize(
    ("customer", "recency", "frequency", "monetary", "scores", "segment"),
    [
        ("A", 1, 3, 200.0, (5, 5, 3), "Loyal"),
        ("B", 10, 1, 40.0, (4, 1, 2), "Promising"),
        ("C", 183, 2, 1000.0, (1, 4, 5), "Can't Lose Them"),
        ("D", 46, 1, 20.0, (2, 1, 1), "Hibernating"),
        ("G", 31, 1, 300.0, (3, 1, 4), "About to Sleep"),
    ],
)
def test_rfm_values_scores_and_segment(
    marts: RefreshedWarehouse,
    customer: str,
    recency: int,
    frequency: int,
    monetary: float,
    scores: tuple[int, int, int],
    segment: str,
) -> None:
    row = _row(marts, "customer_rfm", customer)
    assert row["recency_days"] == recency
    assert row["frequency"] == frequency
    assert row["monetary_total"] == pytest.approx(monetary)
    assert (row["r_score"], row["f_score"], row["m_score"]) == scores
    assert row["rfm_cell"] == "".join(map(str, scores))
    assert row["rfm_segment"] == segment


def test_order_cadence_and_windows(marts: RefreshedWarehouse) -> None:
    a = _row(marts, "customer_rfm", "A")
    assert a["avg_order_value"] == pytest.approx(66.67)
    # 2024-01-31 -> 03-01 is 30 days (leap year), 03-01 -> 03-31 is 30 days.
    assert a["avg_days_between_orders"] == pytest.approx(30.0)
    assert a["median_days_between_orders"] == pytest.approx(30.0)
    assert (a["orders_last_30d"], a["orders_last_90d"], a["orders_last_365d"]) == (1, 3, 3)
    assert a["revenue_last_30d"] == pytest.approx(100.0)
    assert a["tenure_days"] == 122  # first seen at signup 2023-12-01
    c = _row(marts, "customer_rfm", "C")
    assert c["median_days_between_orders"] == pytest.approx(183.0)
    assert c["orders_last_90d"] == 0
    d = _row(marts, "customer_rfm", "D")
    assert (d["refunded_orders"], d["refunded_amount"]) == (1, pytest.approx(10.0))
    b = _row(marts, "customer_rfm", "B")
    assert b["cancelled_orders"] == 1
    assert (
        b["avg_days_between_orders"] is None
        or b["avg_days_between_orders"] != b["avg_days_between_orders"]
    )


def test_customer_without_orders(marts: RefreshedWarehouse) -> None:
    e = _row(marts, "customer_rfm", "E")
    assert e["frequency"] == 0
    assert e["monetary_total"] == 0
    assert e["rfm_segment"] == "No Purchase Yet"
    assert e["r_score"] != e["r_score"] or e["r_score"] is None  # null


def test_engagement_values(marts: RefreshedWarehouse) -> None:
    a = _row(marts, "customer_engagement", "A")
    assert a["sessions_30d"] == 2  # 03-25 and 03-30; 04-02 is after the as-of date
    assert a["session_start_7d"] == 2  # the 7 days before 04-01 are 03-25 .. 03-31
    assert a["days_since_last_activity"] == 2
    assert a["active_days"] == 5
    # Cart days in the last 90: 02-10 (no order that day or the next) and 03-30 (order 03-31).
    assert a["cart_abandonment_rate_90d"] == pytest.approx(0.5)
    assert a["email_open_rate_90d"] == pytest.approx(1.0)
    assert (a["events_30d"], a["events_prev_30d"]) == (5, 1)
    assert a["activity_trend_30d"] == pytest.approx(round(4 / 6, 4))
    b = _row(marts, "customer_engagement", "B")
    assert (b["events_30d"], b["active_days"], b["activity_trend_30d"]) == (0, 0, 0)


def test_profile_is_cleaned_and_customers_from_orders_are_flagged(
    marts: RefreshedWarehouse,
) -> None:
    a = _row(marts, "customer_features", "A")
    assert (a["country"], a["acquisition_channel"], a["marketing_opt_in"]) == (
        "DE",
        "organic",
        True,
    )
    assert a["in_customers_file"]
    b = _row(marts, "customer_features", "B")
    assert not b["in_customers_file"]


def test_bad_row_is_quarantined_with_file_line_and_reason(marts: RefreshedWarehouse) -> None:
    rows = marts.query("select * from quarantine.quarantine_orders")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["source_file"], row["source_row"], row["reason_code"]) == (
        "orders.csv",
        14,
        "unparseable_amount",
    )
    assert '"amount":"abc"' in row["raw_values"].replace(" ", "")
    assert "not a number" in row["reason"]


def test_run_context_records_the_configured_as_of(marts: RefreshedWarehouse) -> None:
    context = marts.query("select * from marts.run_context").iloc[0]
    assert str(context["as_of_date"])[:10] == "2024-04-01"
    assert context["as_of_source"] == "configured"
    assert str(context["latest_order_at"])[:10] == "2024-03-31"


def test_default_as_of_is_the_day_after_the_latest_data(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text(ORDERS)
    (landing / "events.csv").write_text(EVENTS)
    warehouse = tmp_path / "w.duckdb"
    marts = refresh(
        landing,
        warehouse,
        raise_on_error=False,
        asset_selection=build_selection(landing, warehouse),
    )
    context = marts.query("select * from marts.run_context").iloc[0]
    assert str(context["as_of_date"])[:10] == "2024-05-02"
    assert context["as_of_source"].startswith("day after")
