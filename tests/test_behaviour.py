"""Decision speed and channel preference (README "Behaviour").

Hand-computed marts on a tiny data set, as of 2024-04-01 (dbt vars at their defaults: sessions
end after 30 idle minutes, decisions look back at most 30 days, 2 purchases for a style, 4
responses for a channel, e-mails answered within 3 days, carts abandoned after 7 days):

A  opted in.  a1 03-01 12:00 (P1 Shoes): app session 11:50, views P1 11:52, cart 11:55 -> 8 min;
   a2 03-10 12:00 (P2 Socks): app session 11:30, cart P2 11:40 -> 20 min. Median 14 min, both in
   the same session: impulse, reminder 1 h (the lower bound). Carts: 2, none abandoned (a cart
   on 03-30 is too recent to judge). E-mail: 7 sends; 03-30's window is still open, of the other
   6 those of 02-01, 02-08 (open + click), 03-07, 03-28 are answered (02-22's open came 4 days
   late) = 4/6. App sessions: 3 (< 4). Preferred email, confidence 1.
B  opted out. b1 03-20 12:00 (P3 Books): views P3 03-05 10:05, cart 10:06, comes back 03-10,
   03-15 (cart), 03-20 -> 15 d 1 h 55 min = 21715 min, 3 cart returns; b2 03-28 12:00 (P1): views
   P1 03-25 09:00 -> 4500 min. Median 13107.5 min = 218.46 h: hesitant, reminder 168 h (bound).
   Carts: 03-05 abandoned (next order 15 days later), 03-15 not. 6 web sessions, 4 phone tickets.
C  opted in.  c1 02-10 12:00 (no product): session 11:30, cart 11:40 (no product) -> 20 min from
   the session (basis session); c2 03-15 12:00 (P2): views P2 03-13 12:00 -> 2880 min (session
   11:45 before the order: not the same); c3 03-25 12:00 (P2): views 03-24 12:00 -> 1440 min, no
   session at the order. Median 1440 min = 24 h, same session 1/3: considered, reminder 24 h.
   4 web sessions (no channel property: default web), 4 chat tickets.
D  opted in, one order, no events.

Channel index = responses / mean responses per customer with any (A, B, C): email 4/3, app 1,
web 10/3, phone 4/3, chat 4/3. B: web 1.8, phone 3.0 -> most responsive phone, not consented ->
web, confidence 1.8/4.8 = 0.375. C: web 1.2, chat 3.0 -> chat, 3/4.2 = 0.7143.

On or after the as-of date (must change nothing): an order of A on 04-02 whose line first maps
P9 to Toys (A viewed P9 on 03-30: its category stays unknown), C's order and session on 04-01,
B's phone ticket at 04-01 00:00, an e-mail send and open of A on 04-01.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.support.dbt_cli import run_dbt

AS_OF = "2024-04-01"
CUSTOMERS = """customer_id,signup_at,country,acquisition_channel,email,marketing_opt_in
A,2023-12-01,de,organic,a@example.com,yes
B,2023-12-01,de,organic,b@example.com,no
C,2023-12-01,de,organic,c@example.com,yes
D,2023-12-01,de,organic,d@example.com,yes
"""
ORDERS = """order_id,customer_id,ordered_at,amount,status
a1,A,2024-03-01 12:00:00,50,completed
a2,A,2024-03-10 12:00:00,50,completed
a3,A,2024-04-02 12:00:00,50,completed
b1,B,2024-03-20 12:00:00,40,completed
b2,B,2024-03-28 12:00:00,40,completed
c1,C,2024-02-10 12:00:00,30,completed
c2,C,2024-03-15 12:00:00,30,completed
c3,C,2024-03-25 12:00:00,30,completed
c4,C,2024-04-01 00:00:00,30,completed
d1,D,2024-03-01 12:00:00,20,completed
"""
ORDER_ITEMS = """order_id,product_id,category,quantity,unit_price
a1,P1,Shoes,1,50
a2,P2,Socks,1,50
a3,P9,Toys,1,50
b1,P3,Books,1,40
b2,P1,Shoes,1,40
c1,,,1,30
c2,P2,Socks,1,30
c3,P2,Socks,1,30
c4,P2,Socks,1,30
d1,P3,Books,1,20
"""


def _event(customer: str, at: str, event_type: str, **properties: str) -> str:
    if not properties:
        return f"{customer},{at},{event_type},"
    body = ", ".join(f'""{k}"": ""{v}""' for k, v in properties.items())
    return f'{customer},{at},{event_type},"{{{body}}}"'


EVENTS = "\n".join(
    [
        "customer_id,occurred_at,event_type,properties",
        # A: impulse, e-mail
        _event("A", "2024-03-01 11:50:00", "session_start", channel="app"),
        _event("A", "2024-03-01 11:52:00", "product_view", product_id="P1"),
        _event("A", "2024-03-01 11:55:00", "add_to_cart"),
        _event("A", "2024-03-10 11:30:00", "session_start", channel="app"),
        _event("A", "2024-03-10 11:40:00", "add_to_cart", product_id="P2"),
        _event("A", "2024-03-30 10:00:00", "session_start", channel="app"),
        _event("A", "2024-03-30 10:05:00", "product_view", product_id="P9"),
        _event("A", "2024-03-30 10:06:00", "add_to_cart", product_id="P9"),
        *(
            _event("A", f"2024-{day} 09:00:00", "email_sent")
            for day in ("02-01", "02-08", "02-15", "02-22", "03-07", "03-28", "03-30")
        ),
        _event("A", "2024-02-01 10:00:00", "email_open"),
        _event("A", "2024-02-08 18:00:00", "email_open"),
        _event("A", "2024-02-08 18:05:00", "email_click"),
        _event("A", "2024-02-26 10:00:00", "email_open"),
        _event("A", "2024-03-07 09:30:00", "email_open"),
        _event("A", "2024-03-28 12:00:00", "email_open"),
        _event("A", "2024-03-30 10:00:00", "email_open"),
        # B: hesitant, phone but opted out
        _event("B", "2024-03-05 10:00:00", "session_start", channel="web"),
        _event("B", "2024-03-05 10:05:00", "product_view", product_id="P3"),
        _event("B", "2024-03-05 10:06:00", "add_to_cart", product_id="P3"),
        _event("B", "2024-03-10 20:00:00", "page_view"),
        _event("B", "2024-03-15 20:00:00", "session_start", channel="web"),
        _event("B", "2024-03-15 20:02:00", "add_to_cart"),
        _event("B", "2024-03-20 11:50:00", "session_start", channel="web"),
        _event("B", "2024-03-20 11:55:00", "checkout_start"),
        _event("B", "2024-03-25 09:00:00", "product_view", product_id="P1"),
        _event("B", "2024-03-28 11:59:00", "session_start", channel="web"),
        *(
            _event("B", f"2024-03-0{d} 15:00:00", "support_ticket", channel="phone")
            for d in range(1, 5)
        ),
        # C: considered, chat; no channel on its sessions
        _event("C", "2024-02-10 11:30:00", "session_start"),
        _event("C", "2024-02-10 11:40:00", "add_to_cart"),
        _event("C", "2024-03-13 12:00:00", "product_view", product_id="P2"),
        _event("C", "2024-03-15 11:45:00", "session_start"),
        _event("C", "2024-03-24 12:00:00", "product_view", product_id="P2"),
        *(
            _event("C", f"2024-02-0{d} 15:00:00", "support_ticket", channel="Chat")
            for d in range(1, 5)
        ),
        # On or after the as-of date: invisible.
        _event("A", "2024-04-01 09:00:00", "email_sent"),
        _event("A", "2024-04-01 09:10:00", "email_open"),
        _event("B", "2024-04-01 00:00:00", "support_ticket", channel="phone"),
        _event("C", "2024-04-01 08:00:00", "session_start", channel="web"),
        _event("C", "2024-04-01 08:01:00", "product_view", product_id="P2"),
    ]
)
SELECTION = "+customer_behaviour +customer_channel_responses"


def _build(root: Path, files: dict[str, str]) -> Path:
    """Load the files as the raw assets do, then run the behaviour marts with dbt alone."""
    from ingest.contract import ENTITIES
    from ingest.landing import load_entity
    from ingest.mapping import parse_mapping

    landing = root / "landing"
    landing.mkdir()
    for name, text in files.items():
        (landing / name).write_text(text + ("" if text.endswith("\n") else "\n"))
    warehouse = root / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        for entity in ENTITIES:
            load_entity(con, landing, parse_mapping({}, None), entity)
    finally:
        con.close()
    variables = {"warehouse_path": str(warehouse), "as_of": AS_OF, "run_date": "2026-01-01"}
    with pytest.MonkeyPatch.context() as env:
        # Only the tests of the selected models (not those that also read unselected ones).
        env.setenv("DBT_INDIRECT_SELECTION", "cautious")
        build = run_dbt("build", SELECTION, variables, root)
    assert build.returncode == 0, build.stdout[-3000:]
    return warehouse


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("behaviour")
    files = {
        "customers.csv": CUSTOMERS,
        "orders.csv": ORDERS,
        "order_items.csv": ORDER_ITEMS,
        "events.csv": EVENTS,
    }
    con = duckdb.connect(str(_build(root, files)), read_only=True)
    yield con
    con.close()


def _behaviour(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    result = con.execute("select * from marts.customer_behaviour order by customer_id")
    names = [column[0] for column in result.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


def test_decision_speed_is_computed_by_hand(hand: duckdb.DuckDBPyConnection) -> None:
    rows = _behaviour(hand)
    assert sorted(rows) == ["A", "B", "C", "D"]
    expected = {
        # purchases, median h, same session, avg returns, returns, session basis, carts,
        # abandoned, style, reminder h
        "A": (2, 0.23, 1.0, 0.0, 0, 0, 2, 0, "impulse", 1.0),
        "B": (2, 218.46, 0.0, 1.5, 3, 0, 2, 1, "hesitant", 168.0),
        "C": (3, 24.0, 0.3333, 0.0, 0, 1, 1, 0, "considered", 24.0),
    }
    columns = (
        "purchases_with_events",
        "median_decision_hours",
        "same_session_share",
        "avg_cart_returns",
        "cart_returns",
        "session_basis_purchases",
        "carts",
        "abandoned_carts",
        "decision_style",
        "reminder_delay_hours",
    )
    for customer, values in expected.items():
        got = tuple(rows[customer][c] for c in columns)
        assert got == pytest.approx(values), customer
        assert rows[customer]["decision_note"] is None
    d = rows["D"]
    assert d["decision_style"] is None and d["reminder_delay_hours"] is None
    assert d["decision_note"] == "no purchase with visit events before it"
    minutes = hand.execute(
        "select order_id, decision_minutes, decision_basis, bought_in_same_session "
        "from intermediate.int_purchase_decisions order by order_id"
    ).fetchall()
    assert minutes == [
        ("a1", 8.0, "category", True),
        ("a2", 20.0, "category", True),
        ("b1", 21715.0, "category", False),
        ("b2", 4500.0, "category", False),
        ("c1", 20.0, "session", True),
        ("c2", 2880.0, "category", False),
        ("c3", 1440.0, "category", False),
    ]


def test_channel_preference_is_computed_by_hand(hand: duckdb.DuckDBPyConnection) -> None:
    rows = _behaviour(hand)
    got = {
        c: (
            rows[c]["channel_responses"],
            rows[c]["most_responsive_channel"],
            rows[c]["preferred_channel"],
            rows[c]["channel_confidence"],
        )
        for c in "ABCD"
    }
    assert got["A"] == (7, "email", "email", 1.0)
    assert got["B"] == (10, "phone", "web", 0.375)
    assert got["C"] == (8, "chat", "chat", pytest.approx(0.7143))
    assert got["D"][:3] == (0, None, None)
    assert rows["A"]["channel_note"] is None and rows["C"]["channel_note"] is None
    assert rows["B"]["channel_note"] == (
        "answers most on phone without consent to be contacted there; next best channel"
    )
    assert rows["D"]["channel_note"] == "no responses on any channel"
    responses = hand.execute(
        "select customer_id, channel, source, opportunities, responses, response_rate, "
        "contactable from marts.customer_channel_responses order by all"
    ).fetchall()
    assert responses == [
        ("A", "app", "visits", 3, 3, 1.0, True),
        ("A", "email", "email_campaigns", 6, 4, 0.6667, True),
        ("B", "phone", "support_contacts", 4, 4, 1.0, False),
        ("B", "web", "visits", 6, 6, 1.0, True),
        ("C", "chat", "support_contacts", 4, 4, 1.0, True),
        ("C", "web", "visits", 4, 4, 1.0, True),
    ]


def test_nothing_on_or_after_the_as_of_date_is_read(hand: duckdb.DuckDBPyConnection) -> None:
    latest = hand.execute("select max(occurred_at) from intermediate.int_behaviour_events")
    assert str(latest.fetchone()[0]) < AS_OF
    # P9 is first bought on 04-02: A's view of it on 03-30 has no known category.
    category = hand.execute(
        "select category from intermediate.int_behaviour_events where product_id = 'P9' limit 1"
    ).fetchone()[0]
    assert category is None
    orders = hand.execute("select count(*) from intermediate.int_purchase_decisions").fetchone()
    assert orders[0] == 7  # a3 and c4 are not purchases yet


def test_without_events_the_columns_are_null_and_the_metadata_says_why(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from engines.duckdb_engine import DuckDBEngine
    from orchestration.defs.behaviour import BEHAVIOUR_MART, behaviour_metadata

    root = tmp_path_factory.mktemp("no_events")
    warehouse = _build(root, {"orders.csv": ORDERS, "order_items.csv": ORDER_ITEMS})
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        summary = con.execute(
            "select count(*), count(decision_style), count(preferred_channel), "
            "count(reminder_delay_hours), any_value(decision_note), any_value(channel_note) "
            "from marts.customer_behaviour"
        ).fetchone()
        metadata = behaviour_metadata(DuckDBEngine(con), *BEHAVIOUR_MART)
    finally:
        con.close()
    reason = "no events in the behaviour window"
    assert summary == (4, 0, 0, 0, reason, reason)
    assert metadata["share_with_decision_style"].value == 0.0
    assert metadata["decision_style_missing_because"].value.endswith(reason)
    assert metadata["preferred_channel_missing_because"].value.endswith(reason)


def test_planted_styles_and_channels_are_recovered(demo_warehouse) -> None:
    """The demo plants a decision style and a channel per customer (demo_data/behaviour.py):
    at least 80% of customers with enough evidence get the planted one back. Channels are
    compared among customers with marketing consent and a channel of their own: without consent
    no e-mail is sent, so an e-mail lover cannot show."""
    truth = pd.read_csv(demo_warehouse.truth_dir / "behaviour_truth.csv")
    found = demo_warehouse.query(
        "select customer_id, decision_style, preferred_channel, preferred_channel_source, "
        "marketing_opt_in from analytics.customer_360"
    ).merge(truth, on="customer_id", suffixes=("", "_planted"))
    assert len(found) == len(truth)
    styled = found.dropna(subset=["decision_style"])
    assert len(styled) > 0.5 * len(truth)
    style_hits = (styled["decision_style"] == styled["decision_style_planted"]).mean()
    assert style_hits >= 0.8, style_hits
    own = found[
        found["marketing_opt_in"].fillna(False).astype(bool)
        & (found["preferred_channel_source"] == "customer")
    ]
    assert len(own) > 0.4 * len(truth)
    channel_hits = (own["preferred_channel"] == own["preferred_channel_planted"]).mean()
    assert channel_hits >= 0.8, channel_hits


def test_behaviour_reaches_customer_360_segments_and_every_export(demo_warehouse) -> None:
    c360 = demo_warehouse.query(
        "select preferred_channel, preferred_channel_source, marketing_opt_in "
        "from analytics.customer_360"
    )
    sources = set(c360["preferred_channel_source"].dropna())
    assert sources == {"customer", "segment_default"}
    # A channel that needs consent only for customers who gave it.
    needs_consent = (
        ~c360["preferred_channel"].isin(["web", "onsite"]) & c360["preferred_channel"].notna()
    )
    assert c360.loc[needs_consent, "marketing_opt_in"].fillna(False).all()
    summary = demo_warehouse.query(
        "select impulse_share + considered_share + hesitant_share as styled, own_channel_share, "
        "preferred_channel_mix from analytics.segment_summary"
    )
    assert (summary["styled"] <= 1.0 + 1e-9).all() and summary["styled"].max() > 0.5
    assert summary["preferred_channel_mix"].notna().any()
    exports = demo_warehouse.warehouse_path.parent / "exports"
    files = sorted(exports.glob("*/*.csv"))
    assert files
    for path in files:
        assert "preferred_channel" in pd.read_csv(path, nrows=1).columns, path.name
