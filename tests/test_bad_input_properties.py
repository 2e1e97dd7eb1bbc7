"""Property-based tests: whatever is thrown at the loader, it never crashes with a raw
traceback, every data line is either loaded or rejected with a reason, and (through dbt) every
loaded row is either staged or quarantined with a reason."""

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.landing import LandingError, load_entity
from ingest.mapping import parse_mapping
from tests.support.dbt_cli import run_dbt

ROOT = Path(__file__).parents[1]
HEADER = ["order_id", "customer_id", "ordered_at", "amount", "status"]

good_value = {
    "order_id": st.from_regex(r"O[0-9]{1,4}", fullmatch=True),
    "customer_id": st.from_regex(r"C[0-9]{1,3}", fullmatch=True),
    "ordered_at": st.dates().map(str),
    "amount": st.floats(-1000, 1000, allow_nan=False).map(lambda v: f"{v:.2f}"),
    "status": st.sampled_from(["completed", "cancelled", "refunded", "Completed", ""]),
}
junk = st.one_of(
    st.just(""),
    st.text(
        alphabet=st.characters(blacklist_characters='\n\r",', blacklist_categories=("Cs",)),
        max_size=12,
    ),
    st.sampled_from(["NaN", "inf", "1e999", "2024-02-30", "31/12/2024", "-0", " 42 ", "null"]),
)


@st.composite
def order_line(draw) -> str:
    fields = [draw(st.one_of(good_value[c], junk)) for c in HEADER]
    shape = draw(st.sampled_from(["ok", "ok", "ok", "short", "long"]))
    if shape == "short":
        fields = fields[: draw(st.integers(1, len(fields) - 1))]
    elif shape == "long":
        fields = fields + ["extra"] * draw(st.integers(1, 3))
    return ",".join(fields)


@st.composite
def orders_file(draw) -> bytes:
    lines = draw(st.lists(order_line(), min_size=0, max_size=40))
    text = "\n".join([",".join(HEADER), *lines]) + "\n"
    data = text.encode()
    if draw(st.booleans()):  # a stray byte that is not UTF-8
        position = draw(st.integers(len(HEADER[0]) + 60, max(len(data), len(HEADER[0]) + 60)))
        data = data[:position] + b"\xff" + data[position:]
    return data


def _data_lines(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n")[1:] if line.strip())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=orders_file())
def test_loader_accounts_for_every_line(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    landing = tmp_path_factory.mktemp("prop")
    (landing / "orders.csv").write_bytes(data)
    con = duckdb.connect()
    try:
        report = load_entity(con, landing, parse_mapping({}, None), "orders")
    except LandingError as exc:
        assert "orders.csv" in str(exc)  # a clear error that names the file
        return
    assert report.rows_read == _data_lines(data)
    assert report.rows_loaded == con.execute("select count(*) from raw.orders").fetchall()[0][0]
    reasons = con.execute("select error_type from raw.orders_rejects").fetchall()
    assert len(reasons) == report.rows_rejected
    assert all(reason[0] for reason in reasons)


@st.composite
def parquet_orders(draw) -> list[tuple]:
    row = st.tuples(
        st.one_of(st.none(), good_value["order_id"], junk),
        st.one_of(st.none(), good_value["customer_id"]),
        st.one_of(st.none(), st.datetimes()),
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        st.one_of(st.none(), good_value["status"], junk),
    )
    return draw(st.lists(row, max_size=30))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=parquet_orders())
def test_typed_parquet_loads_every_row(tmp_path_factory: pytest.TempPathFactory, rows) -> None:
    landing = tmp_path_factory.mktemp("parquet")
    con = duckdb.connect()
    con.execute(
        "create table t (order_id varchar, customer_id varchar, ordered_at timestamp, "
        "amount double, status varchar)"
    )
    if rows:
        con.executemany("insert into t values (?, ?, ?, ?, ?)", rows)
    con.execute(f"copy t to '{landing / 'orders.parquet'}' (format parquet)")
    if not rows:
        # A required file without a data row fails the load (it would wipe the published data).
        with pytest.raises(LandingError, match="no data row"):
            load_entity(con, landing, parse_mapping({}, None), "orders")
        return
    report = load_entity(con, landing, parse_mapping({}, None), "orders")
    assert report.rows_read == report.rows_loaded == len(rows)


# Through dbt: a few generated files, each built by staging/quarantine and audited.
STAGING_SELECTION = "+load_audit"  # staging and quarantine of every entity, then the audit


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=orders_file())
def test_staging_quarantines_with_a_reason_and_loses_nothing(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    from ingest.contract import ENTITIES

    root = tmp_path_factory.mktemp("dbt")
    landing = root / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_bytes(data)
    warehouse = root / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        for entity in ENTITIES:
            load_entity(con, landing, parse_mapping({}, None), entity)
    except LandingError:
        return
    finally:
        con.close()
    # Generated files are mostly bad rows: the quarantine share limit is lifted.
    variables = {"warehouse_path": str(warehouse), "run_date": "2026-01-01"}
    build = run_dbt("build", STAGING_SELECTION, {**variables, "max_quarantine_share": 1}, root)
    assert build.returncode == 0, build.stdout[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        audit = con.execute(
            "select rows_read, rows_staged, rows_quarantined, rows_unaccounted "
            "from quarantine.load_audit where entity = 'orders'"
        ).fetchall()[0]
        assert audit[0] == _data_lines(data) and audit[3] == 0
        missing_reason = con.execute(
            "select count(*) from quarantine.quarantine_orders "
            "where reason_code is null or reason is null or reason = ''"
        ).fetchall()[0][0]
        assert missing_reason == 0
    finally:
        con.close()
