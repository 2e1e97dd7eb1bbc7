"""Exports in layouts we did not design load with their documented mapping.yaml (or none),
every row arriving with its customer, day and amount; wrong mappings name the fix; `insights
inspect` judges them as staging will and suggests a mapping that loads."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from ingest.inspect import EntityInspection, inspect_landing
from ingest.landing import LandingError, LoadReport, load_entity
from ingest.mapping import load_mapping
from orchestration.cli import main
from tests.support import foreign_exports as fe

# The 1990s export needs the lower date floor for staging; this is the default from 1950 on.
MIN_DATE = "1950-01-01"


def _load_orders(landing: Path) -> tuple[duckdb.DuckDBPyConnection, LoadReport]:
    con = duckdb.connect()
    return con, load_entity(con, landing, load_mapping(landing), "orders")


def _orders(inspected: list[EntityInspection]) -> EntityInspection:
    return next(e for e in inspected if e.entity == "orders")


def _expected_orders(written: list[fe.Order]) -> dict[tuple[str, str], float]:
    """(customer, day) -> amount, summing rows of one customer and day (merged or not)."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for order in written:
        totals[(order.customer, order.day.isoformat())] += order.amount
    return {key: round(value, 2) for key, value in totals.items()}


def _raw_orders(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    rows = con.execute(
        "select customer_id, strftime(cast(ordered_at as timestamp), '%Y-%m-%d'), "
        "round(sum(cast(amount as double)), 2) from raw.orders group by 1, 2"
    ).fetchall()
    return {(customer, day): amount for customer, day, amount in rows}


@pytest.mark.parametrize("name", sorted(fe.WRITERS))
def test_foreign_export_loads_every_row_with_its_customer_day_and_amount(
    name: str, landing_dir: Path
) -> None:
    written = fe.WRITERS[name](landing_dir)
    con, report = _load_orders(landing_dir)
    assert report.rows_rejected == 0
    assert report.rows_read == len(written)
    assert report.rows_loaded + report.rows_merged == len(written)
    assert _raw_orders(con) == _expected_orders(written)
    # Line numbers: a header is line 1; a header-less file starts with data on line 1.
    first_line = con.execute("select min(_source_row) from raw.orders").fetchall()[0][0]
    assert first_line == (1 if name == "headerless_pipe" else 2)

    # The staging rules (run by inspect on an in-memory copy) quarantine nothing.
    inspected = _orders(inspect_landing(landing_dir, MIN_DATE).entities)
    assert inspected.error is None
    assert inspected.quarantine == []
    assert inspected.rows_usable == report.rows_loaded
    days = sorted(o.day.isoformat() for o in written)
    assert inspected.date_range == (days[0], days[-1])


def test_same_time_rows_merge_into_one_order_and_are_counted(landing_dir: Path) -> None:
    written = fe.semicolon_eur(landing_dir, n_customers=150)
    con, report = _load_orders(landing_dir)
    same_day = len(written) - len({(o.customer, o.day) for o in written})
    assert same_day > 0
    assert report.rows_merged == same_day
    assert con.execute("select count(distinct order_id) from raw.orders").fetchall()[0][0] == (
        len(written) - same_day
    )
    # Without the option the rows stay separate orders.
    mapping = (landing_dir / "mapping.yaml").read_text()
    (landing_dir / "mapping.yaml").write_text(mapping.replace("merge_same_time_rows: true", ""))
    _, separate = _load_orders(landing_dir)
    assert (separate.rows_loaded, separate.rows_merged) == (len(written), 0)


def test_1990s_whitespace_export_loads_raw_with_iso_dates(landing_dir: Path) -> None:
    """The raw load; tests/test_eras.py runs the whole pipeline on a file of this layout."""
    written = fe.cdnow_1990s(landing_dir)
    con, report = _load_orders(landing_dir)
    assert report.rows_merged > 0
    low, high = con.execute("select min(ordered_at), max(ordered_at) from raw.orders").fetchall()[0]
    days = sorted(o.day.isoformat() for o in written)
    assert (low, high) == (days[0], days[-1]) and days[0].startswith("1997")


WRONG_MAPPINGS = [
    (
        fe.semicolon_eur,
        "orders:\n  files: umsatz.csv\n  delimiter: ','\n"
        "  columns: {customer_id: Kunde, ordered_at: Datum, amount: Betrag}\n",
        "`orders.delimiter: \";\"` in mapping.yaml splits it into ['Kunde', 'Datum', 'Anzahl', "
        "'Betrag']",
    ),
    (
        fe.cdnow_1990s,
        "orders:\n  files: cdnow_orders.txt\n  delimiter: ';'\n"
        "  columns: {ordered_at: date, amount: dollar_value}\n",
        "`orders.delimiter: whitespace` in mapping.yaml splits it into ['customer_id', 'date', "
        "'number_of_cds', 'dollar_value']",
    ),
    (
        fe.headerless_pipe,
        "orders:\n  files: sales.dat\n  header: false\n  delimiter: ','\n"
        "  columns: {customer_id: 1, ordered_at: 2, amount: 4}\n",
        '`orders.delimiter: "|"` in mapping.yaml splits it into 4 fields',
    ),
]


@pytest.mark.parametrize(("writer", "mapping", "fix"), WRONG_MAPPINGS)
def test_a_delimiter_that_does_not_split_the_header_names_the_one_that_does(
    writer, mapping: str, fix: str, landing_dir: Path
) -> None:
    writer(landing_dir, n_customers=20)
    (landing_dir / "mapping.yaml").write_text(mapping)
    with pytest.raises(LandingError) as excinfo:
        _load_orders(landing_dir)
    assert fix in str(excinfo.value)
    # No data row is quoted: only the header (or a field count) is.
    data_line = (landing_dir / load_mapping(landing_dir)["orders"].files[0]).read_text()
    assert data_line.splitlines()[1].strip() not in str(excinfo.value)


def test_single_space_delimiter_on_an_aligned_file_says_whitespace(landing_dir: Path) -> None:
    fe.cdnow_1990s(landing_dir, n_customers=20)
    (landing_dir / "mapping.yaml").write_text(
        "orders:\n  files: cdnow_orders.txt\n  delimiter: ' '\n"
        "  columns: {ordered_at: date, amount: dollar_value}\n"
    )
    _, report = _load_orders(landing_dir)
    assert report.rows_loaded == 0
    assert any("`orders.delimiter: whitespace`" in note for note in report.notes)


@pytest.mark.parametrize("name", ["cdnow_1990s", "semicolon_eur", "headerless_pipe"])
def test_inspect_suggests_a_mapping_that_loads_without_quarantine(
    name: str, landing_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = fe.WRITERS[name](landing_dir, n_customers=80)
    documented = load_mapping(landing_dir)["orders"]
    (landing_dir / "mapping.yaml").unlink()
    assert main(["inspect", "--landing-dir", str(landing_dir), "--write-mapping"]) == 1
    out = capsys.readouterr().out
    assert "Suggested mapping.yaml" in out and "Wrote" in out
    suggested = load_mapping(landing_dir)["orders"]
    assert (suggested.delimiter or ",") == (documented.delimiter or ",")
    assert suggested.header == documented.header

    inspected = _orders(inspect_landing(landing_dir, MIN_DATE).entities)
    assert inspected.quarantine == []
    # Same-day rows stay separate orders: the suggestion does not merge on its own.
    assert inspected.rows_usable == len(written)
    # Once the mapping fits, there is nothing more to suggest or write.
    assert main(["inspect", "--landing-dir", str(landing_dir), "--write-mapping"]) == 0
    assert "No mapping.yaml needed" in capsys.readouterr().out


def test_inspect_reports_quarantine_reasons_with_line_numbers_only(
    landing_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (landing_dir / "orders.txt").write_text(
        "customer_id   ordered_at   amount\n"  # line 1
        "  cust1   2024-01-05   10.00\n"  # line 2
        "\n"  # line 3: blank, not a row
        "  cust2   2024-13-45   7.50\n"  # line 4: no such date
        "  cust3   2024-02-01\n"  # line 5: a field short
        "  cust4   2024-02-02   abc\n"  # line 6: not an amount
        "  cust5   2024-02-03   1.00\n"  # line 7
        "  cust6   2024-02-04   2.00\n"  # line 8
        "  cust7   2024-02-05   3.00\n"  # line 9
    )
    assert main(["inspect", "--landing-dir", str(landing_dir)]) == 1
    out = capsys.readouterr().out
    assert "layout: delimiter whitespace, header: yes" in out
    assert "quarantine unparseable_date: 1 row(s), e.g. orders.txt line 4" in out
    assert "quarantine malformed_row: 1 row(s), e.g. orders.txt line 5" in out
    assert "quarantine unparseable_amount: 1 row(s), e.g. orders.txt line 6" in out
    assert "dates: 2024-01-05 .. 2024-02-05" in out
    # The first five readable rows are shown; rows beyond them never are.
    assert "cust6" in out and "cust7" not in out


def test_inspect_refuses_to_overwrite_a_mapping_without_force(
    landing_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fe.semicolon_eur(landing_dir, n_customers=20)
    (landing_dir / "mapping.yaml").write_text("orders:\n  files: umsatz.csv\n")
    assert main(["inspect", "--landing-dir", str(landing_dir), "--write-mapping"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (landing_dir / "mapping.yaml").read_text() == "orders:\n  files: umsatz.csv\n"
    assert main(["inspect", "--landing-dir", str(landing_dir), "--write-mapping", "--force"]) == 1
    assert load_mapping(landing_dir)["orders"].delimiter == ";"


def test_decimal_comma_eur_export_runs_end_to_end_and_publishes_scores(tmp_path: Path) -> None:
    """The whole refresh on a foreign export: its mapping, merged same-time rows, the load
    audit still balancing, and churn scores published for its customers."""
    from tests.refresh import refresh

    landing = tmp_path / "landing"
    written = fe.semicolon_eur(landing, n_customers=300)
    warehouse = refresh(landing, tmp_path / "warehouse.duckdb")
    assert warehouse.result.success
    audit = warehouse.query(
        "select rows_read, rows_quarantined, rows_merged_same_time, rows_unaccounted "
        "from quarantine.load_audit where entity = 'orders'"
    ).iloc[0]
    merged = len(written) - len({(o.customer, o.day) for o in written})
    assert (audit.rows_read, audit.rows_quarantined) == (len(written), 0)
    assert (audit.rows_merged_same_time, audit.rows_unaccounted) == (merged, 0)
    staged = warehouse.query(
        "select count(*) as orders, round(sum(amount), 2) as total from staging.stg_landing__orders"
    ).iloc[0]
    assert staged.orders == len(written) - merged
    assert staged.total == pytest.approx(sum(o.amount for o in written), abs=0.05)
    scores = warehouse.query(
        "select count(*) as customers, count(churn_probability) as scored from ml.churn_scores"
    ).iloc[0]
    assert scores.customers == len({o.customer for o in written})
    assert scores.scored > scores.customers // 2  # customers still active at the as-of date
