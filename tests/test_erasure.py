"""Right to erasure: a forgotten customer appears in no table, serving database, export or
report after the next refresh, and re-ingesting their rows does not bring them back."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_data import generate, write_dataset
from orchestration.cli import main
from tests.refresh import query, refresh

FORGOTTEN = "C0000007"


def _hits_in_database(path: Path, needle: str) -> list[str]:
    hits = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in columns:
            count = con.execute(
                f'select count(*) from "{schema}"."{table}" where "{column}" like ?',
                [f"%{needle}%"],
            ).fetchall()[0][0]
            if count:
                hits.append(f"{schema}.{table}.{column}: {count}")
    finally:
        con.close()
    return hits


def _hits_in_files(folder: Path, needle: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def _everywhere(root: Path, needle: str) -> list[str]:
    return (
        _hits_in_database(root / "warehouse.duckdb", needle)
        + _hits_in_database(root / "serving.duckdb", needle)
        + _hits_in_files(root / "exports", needle)
        + _hits_in_files(root / "reports", needle)
        + _hits_in_files(root / "privacy", needle)
    )


def _append_rows(landing: Path) -> None:
    with (landing / "orders.csv").open("a") as orders:
        orders.write(f"ORE1,{FORGOTTEN},2025-12-30 10:00:00,50.0,completed\n")
        orders.write(f"ORE2,{FORGOTTEN},2025-12-30,bad-line\n")  # a malformed line with the id
    with (landing / "events.csv").open("a") as events:
        events.write(f"{FORGOTTEN},2025-12-30 09:00:00,login,\n")


@pytest.fixture(scope="module")
def erased(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> Path:
    root = tmp_path_factory.mktemp("erasure")
    written = write_dataset(generate(n_customers=500, seed=23), root / "landing", root / "truth")
    warehouse = root / "warehouse.duckdb"
    refresh(written.landing_dir, warehouse, as_of="2025-12-31")
    refresh(written.landing_dir, warehouse)  # a second as-of date: history and two exports
    assert _everywhere(root, FORGOTTEN), "the customer is in the data before the erasure"
    monkeypatch_module.setenv("INSIGHTS_WAREHOUSE_PATH", str(warehouse))
    assert main(["forget", FORGOTTEN]) == 0
    refresh(written.landing_dir, warehouse)
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_forgotten_customer_is_nowhere_after_the_next_refresh(erased: Path) -> None:
    assert _everywhere(erased, FORGOTTEN) == []
    # Both export dates were rewritten, not only the newest.
    assert sorted(p.name for p in (erased / "exports").iterdir() if p.is_symlink()) == [
        "2025-12-31",
        "2026-01-01",
    ]


def test_re_ingested_rows_do_not_bring_the_customer_back(erased: Path) -> None:
    _append_rows(erased / "landing")
    refresh(erased / "landing", erased / "warehouse.duckdb")
    assert _everywhere(erased, FORGOTTEN) == []
    audit = query(
        erased / "warehouse.duckdb",
        "select entity, rows_dropped_as_erased, rows_unaccounted from quarantine.load_audit",
    ).set_index("entity")
    assert audit.loc["orders", "rows_dropped_as_erased"] > 0
    assert (audit["rows_unaccounted"] == 0).all()


def test_erasure_log_is_keyed_by_hash(erased: Path) -> None:
    log = pd.read_csv(erased / "privacy" / "erasure_log.csv")
    assert set(log["event"]) == {"requested", "applied"}
    assert log["customer_hash"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert FORGOTTEN not in (erased / "privacy" / "erasure_log.csv").read_text()
