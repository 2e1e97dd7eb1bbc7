"""Serving database and audience exports: atomic, consistent, consent-aware, idempotent."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from publishing.exports import ExportPolicy, build_audiences, email_sha256, write_exports
from publishing.serving import PublishError, PublishRecord, publish_serving_database

RECORD = PublishRecord("2026-01-01", "seg-1", "churn-1", "abc")


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C3", "C1", "C2", "C4", "C5"],
            "segment_id": [1, 1, 2, 2, 1],
            "segment_name": [
                "High-value loyal",
                "High-value loyal",
                "Lapsing big spenders",
                "Lapsing big spenders",
                "High-value loyal",
            ],
            "risk_tier": ["low", "low", "high", "high", "lost"],
            "value_12m": [900.0, 800.0, 5.0, 3.0, 0.0],
            "revenue_last_365d": [1000.0, 900.0, 950.0, 10.0, 0.0],
            "recommended_action": ["Reward", "Reward", "Win back", "Win back", "Reward"],
            "marketing_opt_in": [True, False, True, None, True],
            "overdue": [False, False, True, True, True],
            "overdue_since": [None, None, date(2025, 11, 2), date(2025, 12, 1), date(2024, 1, 1)],
            "days_overdue": pd.array([None, None, 60, 31, 731], dtype="Int64"),
            "expected_next_order_date": [
                date(2026, 1, 5),
                None,
                date(2026, 1, 3),
                date(2026, 1, 30),
                None,
            ],
            "email": [
                " C3@Example.com ",
                "c1@example.com",
                "c2@example.com",
                "c4@example.com",
                None,
            ],
        }
    )


def test_email_hash_matches_the_customer_match_format() -> None:
    expected = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    assert email_sha256("test@example.com") == expected
    assert email_sha256("  Test@Example.COM ") == expected
    assert email_sha256(None) is None and email_sha256("  ") is None


def test_only_consenting_customers_are_in_audiences() -> None:
    audiences = build_audiences(_customers(), ExportPolicy())
    everyone = pd.concat(audiences.values())
    assert "C1" not in set(everyone["customer_id"])  # opted out
    assert "C4" not in set(everyone["customer_id"])  # consent unknown, default excluded
    assert set(audiences["segment_1_high_value_loyal"]["customer_id"]) == {"C3", "C5"}
    assert "email" not in everyone.columns
    assert (
        everyone["email_sha256"].str.fullmatch(r"[0-9a-f]{64}").sum()
        == everyone["email_sha256"].notna().sum()
    )
    lenient = build_audiences(_customers(), ExportPolicy(consent_when_unknown=True))
    assert "C4" in set(pd.concat(lenient.values())["customer_id"])


def test_action_audiences() -> None:
    audiences = build_audiences(_customers(), ExportPolicy(high_value_quantile=0.5))
    assert audiences["at_risk_high_value"]["customer_id"].tolist() == ["C2"]
    # Overdue but lost (C5) is a win-back case, not a replenishment reminder.
    overdue = audiences["overdue_replenishment"]
    assert overdue["customer_id"].tolist() == ["C2"]
    # Since when, by how much, and the next date on their cycle travel with the audience.
    assert overdue[["overdue_since", "days_overdue", "expected_next_order_date"]].iloc[
        0
    ].tolist() == [
        date(2025, 11, 2),
        60,
        date(2026, 1, 3),
    ]
    assert "days_overdue" not in audiences["at_risk_high_value"].columns


def test_category_reminder_audiences_take_the_next_7_and_30_days() -> None:
    customers = _customers().assign(
        as_of_date=date(2026, 1, 1),
        # C3, C1, C2, C4, C5: C1 has no consent, C4 unknown consent.
        next_due_category=["Skincare", "Socks", "Coffee", "Toys", "Books"],
        next_due_date=[
            date(2026, 1, 7),  # day 6: in
            date(2026, 1, 2),
            date(2026, 1, 8),  # day 7: out
            date(2026, 1, 2),
            date(2026, 1, 1),  # the as-of date itself: in
        ],
        next_seasonal_category=["Toys", None, "Swimwear", None, None],
        next_season_start=[date(2026, 1, 31), None, date(2026, 1, 30), None, None],
    )
    audiences = build_audiences(customers, ExportPolicy())
    due = audiences["replenishment_due_7d"]
    assert due[["customer_id", "category", "due_date"]].values.tolist() == [
        ["C3", "Skincare", date(2026, 1, 7)],
        ["C5", "Books", date(2026, 1, 1)],
    ]
    season = audiences["season_starting_30d"]
    assert season[["customer_id", "category", "season_start"]].values.tolist() == [
        ["C2", "Swimwear", date(2026, 1, 30)]
    ]
    # Without the columns (an older customer_360) both audiences exist, empty, with them.
    older = build_audiences(_customers(), ExportPolicy())
    assert older["replenishment_due_7d"].empty and "category" in older["season_starting_30d"]


def test_exports_are_atomic_byte_identical_on_rerun_and_pruned(tmp_path: Path) -> None:
    audiences = build_audiences(_customers(), ExportPolicy())
    first = write_exports(audiences, tmp_path, "2026-01-01", {"churn": "v1"}, ExportPolicy())
    link = tmp_path / "2026-01-01"
    assert link.is_symlink() and link.resolve() == first.folder.resolve()
    snapshot = {p.name: p.read_bytes() for p in link.iterdir()}
    second = write_exports(audiences, tmp_path, "2026-01-01", {"churn": "v1"}, ExportPolicy())
    assert second.folder != first.folder and not first.folder.exists()
    again = {p.name: p.read_bytes() for p in link.iterdir()}
    assert again.keys() == snapshot.keys()
    for name in snapshot:
        if name != "manifest.json":
            assert again[name] == snapshot[name], name
    manifests = [json.loads(snapshot["manifest.json"]), json.loads(again["manifest.json"])]
    for manifest in manifests:
        manifest.pop("generated_at")
    assert manifests[0] == manifests[1]
    for entry in manifests[0]["files"]:
        assert entry["sha256"] == __import__("hashlib").sha256(again[entry["file"]]).hexdigest()
    for day in ("2026-01-02", "2026-01-03"):
        write_exports(audiences, tmp_path, day, {}, ExportPolicy(keep_export_dates=2))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_symlink()) == [
        "2026-01-02",
        "2026-01-03",
    ]
    assert len(list((tmp_path / ".versions").iterdir())) == 2


def test_unwritable_export_folder_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "exports"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(PublishError, match="cannot write exports under"):
        write_exports({}, blocker, "2026-01-01", {}, ExportPolicy())


def _toy_warehouse(path: Path, customers: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists analytics")
    con.execute(
        f"create or replace table analytics.customer_360 as "
        f"select 'C' || range as customer_id from range({customers})"
    )
    return con


def test_serving_database_is_swapped_in_whole_and_keeps_its_log(tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    con = _toy_warehouse(tmp_path / "w.duckdb", 10)
    publish_serving_database(
        con,
        serving,
        ["customer_360"],
        RECORD,
        {"customer_360": ("All customers.", {"customer_id": "Id."})},
    )
    reader = duckdb.connect(str(serving), read_only=True)  # a BI tool holding the old file
    con.execute(
        "create or replace table analytics.customer_360 as "
        "select 'C' || range as customer_id from range(25)"
    )
    (tmp_path / ".serving.duckdb.dead.tmp").write_bytes(b"left by a killed run")
    result = publish_serving_database(con, serving, ["customer_360"], RECORD)
    assert reader.execute("select count(*) from analytics.customer_360").fetchone()[0] == 10
    reader.close()
    fresh = duckdb.connect(str(serving), read_only=True)
    assert fresh.execute("select count(*) from analytics.customer_360").fetchone()[0] == 25
    log = fresh.execute(
        "select publish_id, customers from analytics.publish_log order by published_at"
    ).fetchall()
    assert [row[1] for row in log] == [10, 25] and log[-1][0] == result.publish_id
    fresh.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".serving")) == []


def test_a_publish_killed_before_the_swap_leaves_the_old_file(tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    con = _toy_warehouse(tmp_path / "w.duckdb", 10)
    publish_serving_database(con, serving, ["customer_360"], RECORD)
    con.close()
    before = serving.read_bytes()
    script = (
        "import duckdb; from pathlib import Path; "
        "from publishing.serving import publish_serving_database, PublishRecord; "
        f"con = duckdb.connect({str(tmp_path / 'w.duckdb')!r}); "
        'con.execute("create or replace table analytics.customer_360 as select 1 as customer_id"); '
        f"publish_serving_database(con, Path({str(serving)!r}), ['customer_360'], "
        "PublishRecord('2026-01-02', None, None, 'x'))"
    )
    for point in ("publish:tables_copied", "publish:before_swap"):
        env = {**os.environ, "INSIGHTS_FAILPOINT": point}
        killed = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=Path(__file__).parents[1]
        )
        assert killed.returncode == -9, point
        assert serving.read_bytes() == before, point


def test_csv_exports_neutralise_spreadsheet_formulas_parquet_keeps_raw(tmp_path: Path) -> None:
    """OWASP CSV injection: a text cell starting with = + - @, tab or CR gets a leading '."""
    hostile = _customers()
    hostile.loc[0, "customer_id"] = '=HYPERLINK("http://evil.example/x","x")'
    hostile.loc[2, "customer_id"] = "+cmd|' /C calc'!A0"
    hostile.loc[2, "recommended_action"] = "@SUM(1+1)"
    hostile.loc[0, "segment_name"] = "-2+3"
    hostile.loc[2, "risk_tier"] = "\thigh"
    hostile.loc[0, "value_12m"] = -5.0  # a negative number is not a formula
    hostile["recommended_category_1"] = ["\r=1+1", None, "Socks", None, "Bags"]
    audiences = build_audiences(hostile, ExportPolicy(high_value_quantile=0.0))
    result = write_exports(audiences, tmp_path, "2026-01-01", {}, ExportPolicy())
    csv_cells, parquet_cells = [], []
    con = duckdb.connect()
    for path in sorted(result.folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        csv_cells += frame.to_numpy().ravel().tolist()
        parquet = con.execute(f"select * from '{path.with_suffix('.parquet')}'").df()
        parquet_cells += parquet.astype(str).to_numpy().ravel().tolist()
        assert pd.api.types.is_float_dtype(parquet["value_12m"])
    con.close()
    assert csv_cells, "no CSV written"
    dangerous = [c for c in csv_cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert dangerous == []
    assert [c for c in csv_cells if c.startswith("-")] == ["-5.0"]  # numeric, kept a number
    for neutralised in (
        '\'=HYPERLINK("http://evil.example/x","x")',
        "'+cmd|' /C calc'!A0",
        "'@SUM(1+1)",
        "'-2+3",
        "'\thigh",
        "'\r=1+1",
    ):
        assert neutralised in csv_cells, neutralised
    # Parquet is for programs, not spreadsheets: raw values.
    assert '=HYPERLINK("http://evil.example/x","x")' in parquet_cells
    assert "+cmd|' /C calc'!A0" in parquet_cells
