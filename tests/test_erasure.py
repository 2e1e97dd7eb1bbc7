"""Right to erasure: a forgotten customer appears in no table, serving database, export or
report after the next refresh, and re-ingesting their rows does not bring them back."""

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_data import generate, write_dataset
from ingest.identifiers import ID_SCHEMES, normalise_id, register_id_functions
from ingest.landing import Suppression
from orchestration.cli import main
from privacy.suppression import SuppressionList
from publishing.exports import email_sha256
from tests.refresh import query, refresh

FORGOTTEN = "C0000007"
ALSO_FORGOTTEN = "C0000011"
NEW_ID = "C9999999"  # the forgotten person signing up again under a new id
# How a source may re-deliver the forgotten id: another case, padded, with a zero-width space,
# in full-width letters.
VARIANTS = ("c0000007", " C0000007 ", "C0000007\u200b", "\uff23\uff10000007")


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


def _in_file_bytes(path: Path, needle: str) -> bool:
    """A `strings`-style look at the raw file, free blocks included."""
    return needle.encode() in path.read_bytes()


def _history_rows(warehouse: Path, customer_id: str) -> int:
    """The customer's rows in the history tables that the erasure step has to delete: those of
    earlier as-of dates (the refresh's own date is rewritten from the filtered raw data)."""
    counts = [
        f"(select count(*) from {table} where customer_id = $id "
        f"and as_of_date < (select max(as_of_date) from {table}))"
        for table in ("ml.segment_history", "ml.score_history")
    ]
    return int(query(warehouse, f"select {' + '.join(counts)} as n", {"id": customer_id})["n"][0])


def _email_of(landing: Path, customer_id: str) -> str:
    customers = pd.read_csv(landing / "customers.csv", dtype=str)
    return customers.set_index("customer_id").loc[customer_id, "email"]


def _append_rows(landing: Path) -> None:
    with (landing / "orders.csv").open("a", encoding="utf-8") as orders:
        orders.write(f"ORE1,{FORGOTTEN},2025-12-30 10:00:00,50.0,completed\n")
        orders.write(f"ORE2,{FORGOTTEN},2025-12-30,bad-line\n")  # a malformed line with the id
        for number, variant in enumerate(VARIANTS, start=3):
            orders.write(f'ORE{number},"{variant}",2025-12-30 11:00:00,20.0,completed\n')
        orders.write(f"ORN1,{NEW_ID},2025-12-30 12:00:00,80.0,completed\n")
    with (landing / "events.csv").open("a", encoding="utf-8") as events:
        events.write(f"{FORGOTTEN},2025-12-30 09:00:00,login,\n")
        for variant in VARIANTS:
            events.write(f'"{variant}",2025-12-30 09:30:00,login,\n')
    email = _email_of(landing, FORGOTTEN)
    with (landing / "customers.csv").open("a", encoding="utf-8") as customers:
        customers.write(f"{NEW_ID},2025-12-29 08:00:00,DE,organic,{email.upper()},true\n")


@pytest.fixture(scope="module")
def erased(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> Path:
    root = tmp_path_factory.mktemp("erasure")
    written = write_dataset(generate(n_customers=500, seed=23), root / "landing", root / "truth")
    warehouse = root / "warehouse.duckdb"
    refresh(written.landing_dir, warehouse, as_of="2025-12-31")
    refresh(written.landing_dir, warehouse)  # a second as-of date: history and two exports
    assert _everywhere(root, FORGOTTEN), "the customer is in the data before the erasure"
    assert _in_file_bytes(warehouse, FORGOTTEN), "the byte scan can see an id"
    history = {c: _history_rows(warehouse, c) for c in (FORGOTTEN, ALSO_FORGOTTEN)}
    (root / "history_rows.json").write_text(json.dumps(history))
    monkeypatch_module.setenv("INSIGHTS_WAREHOUSE_PATH", str(warehouse))
    assert main(["forget", FORGOTTEN, ALSO_FORGOTTEN]) == 0
    refresh(written.landing_dir, warehouse)
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_forgotten_customer_is_nowhere_after_the_next_refresh(erased: Path) -> None:
    assert _everywhere(erased, FORGOTTEN) == []
    # Not even in the free blocks of the database files: the warehouse was rewritten.
    for database in ("warehouse.duckdb", "serving.duckdb"):
        assert not _in_file_bytes(erased / database, FORGOTTEN), database
    # Both export dates were rewritten, not only the newest.
    assert sorted(p.name for p in (erased / "exports").iterdir() if p.is_symlink()) == [
        "2025-12-31",
        "2026-01-01",
    ]


def test_re_ingested_rows_do_not_bring_the_customer_back(erased: Path) -> None:
    email = _email_of(erased / "landing", FORGOTTEN)
    _append_rows(erased / "landing")
    refresh(erased / "landing", erased / "warehouse.duckdb")
    assert _everywhere(erased, FORGOTTEN) == []
    warehouse = erased / "warehouse.duckdb"
    # The id written another way is still the erased customer.
    assert query(warehouse, "select * from raw.orders where order_id like 'ORE%'").empty
    for table in ("raw.events", "raw.orders", "raw.customers"):
        ids = query(warehouse, f"select distinct customer_id from {table}")["customer_id"]
        normalised = {normalise_id(i, "id_nfkc_casefold") for i in ids.dropna()}
        assert normalise_id(FORGOTTEN, "id_nfkc_casefold") not in normalised, table
    audit = query(
        warehouse,
        "select entity, rows_dropped_as_erased, rows_unaccounted from quarantine.load_audit",
    ).set_index("entity")
    assert audit.loc["orders", "rows_dropped_as_erased"] >= 1 + len(VARIANTS)
    assert audit.loc["customers", "rows_dropped_as_erased"] >= 2  # the old and the new id
    assert (audit["rows_unaccounted"] == 0).all()
    # The same person under a new id: their orders are kept, their e-mail is not.
    assert not query(warehouse, "select * from raw.orders where customer_id = ?", [NEW_ID]).empty
    assert _everywhere(erased, email.lower()) == []
    email_hash = email_sha256(email)
    assert _hits_in_files(erased / "exports", email_hash) == []
    assert not _in_file_bytes(erased / "serving.duckdb", email.lower())
    assert not _in_file_bytes(warehouse, FORGOTTEN)


def test_ids_are_normalised_identically_in_python_and_sql(tmp_path: Path) -> None:
    suppression_list = SuppressionList(tmp_path)
    tricky = [
        FORGOTTEN,
        *VARIANTS,
        "\tC0000007\x1c",
        "\ufeffC0000007",
        "C0000007\u00ad",
        "Stra\u00dfe",
        "\u0130d",
        "\u212b",
    ]
    con = duckdb.connect()
    register_id_functions(con)
    con.register("ids", pd.DataFrame({"id": tricky}, dtype="string"))
    for scheme in ID_SCHEMES:
        suppression = Suppression(suppression_list.salt_hex(), frozenset(), (scheme,))
        in_sql = [
            h for (h,) in con.execute(f"select {suppression.hash_sql('id')} from ids").fetchall()
        ]
        assert in_sql == [suppression_list.hash(i, scheme) for i in tricky], scheme
    folded = {suppression_list.hash(i, "id_nfkc_casefold") for i in [FORGOTTEN, *VARIANTS]}
    assert len(folded) == 1


def test_a_list_written_before_normalisation_keeps_matching(tmp_path: Path) -> None:
    suppression_list = SuppressionList(tmp_path)
    legacy = suppression_list.hash(FORGOTTEN, "id_trim")
    (tmp_path / "suppression.csv").write_text(
        f"customer_hash,requested_at\n{legacy},2025-01-01T00:00:00+00:00\n"
    )
    assert suppression_list.matching_hash(f" {FORGOTTEN} ") == legacy
    assert suppression_list.forget([FORGOTTEN], source="test") == []  # already erased
    assert suppression_list.forget(["c0000099"], source="test") != []
    kinds = pd.read_csv(tmp_path / "suppression.csv")["kind"].tolist()
    assert kinds == ["id_trim", "id_nfkc_casefold"]
    assert suppression_list.matching_hash("C0000099\u200b") is not None


def test_erasure_log_is_keyed_by_hash_with_each_customers_own_counts(erased: Path) -> None:
    log = pd.read_csv(erased / "privacy" / "erasure_log.csv")
    assert {"requested", "applied", "email_suppressed", "warehouse_rewritten"} <= set(log["event"])
    assert log["customer_hash"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert FORGOTTEN not in (erased / "privacy" / "erasure_log.csv").read_text()
    history = json.loads((erased / "history_rows.json").read_text())
    suppression_list = SuppressionList(erased / "privacy")
    applied = log[log["event"] == "applied"].set_index("customer_hash")["details"]
    for customer_id, rows in history.items():
        assert rows > 0
        details = applied[suppression_list.hash(customer_id)]
        details = details.iloc[0] if isinstance(details, pd.Series) else details
        assert details.startswith(f"history rows {rows}, "), (customer_id, details)
