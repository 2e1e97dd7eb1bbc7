"""Publishing through Dagster: serving database and exports on the demo data, under load and
failure."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_data import generate, write_dataset
from tests.refresh import RefreshedWarehouse, refresh

ROOT = Path(__file__).parents[1]


def _serving(warehouse: RefreshedWarehouse) -> Path:
    return warehouse.warehouse_path.parent / "serving.duckdb"


def _exports(warehouse: RefreshedWarehouse) -> Path:
    return warehouse.warehouse_path.parent / "exports"


def _export_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_serving_database_holds_the_documented_tables_without_emails(demo_warehouse) -> None:
    con = duckdb.connect(str(_serving(demo_warehouse)), read_only=True)
    try:
        tables = {
            r[0]: r[1]
            for r in con.execute(
                "select table_name, comment from duckdb_tables() where schema_name = 'analytics'"
            ).fetchall()
        }
        assert set(tables) == {
            "customer_360",
            "segment_summary",
            "segment_migrations",
            "churn_model_metrics",
            "score_history",
            "segment_history",
            "publish_log",
        }
        assert all(tables.values()), "every table has a description"
        columns = con.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where schema_name = 'analytics' and table_name <> 'publish_log'"
        ).fetchall()
        assert not [c for c in columns if "email" in c[1] and c[1] != "email_open_rate_90d"]
        assert not [c for c in columns if not c[2]], "every column has a description"
        assert con.execute("select count(*) from analytics.customer_360").fetchone()[0] == 2000
        # Purchase-pattern columns join the customer and segment views.
        recommended = con.execute(
            "select count(recommended_category_1), count(recommendation_reason_1) "
            "from analytics.customer_360"
        ).fetchall()[0]
        assert recommended[0] > 0 and recommended[0] == recommended[1]
        summary = con.execute("select cross_sell_categories from analytics.segment_summary").df()
        assert len(summary) > 0
        # Churn figures say whom they cover; lost customers are counted as lost.
        risk = con.execute(
            "select s.segment_id, s.customers, s.scored_customers, s.churn_scored_share, "
            "s.avg_churn_probability, s.high_risk_share, s.lost_share, s.no_orders_share, "
            "s.risk_summary, c.scored, c.lost, c.mean_churn "
            "from analytics.segment_summary s join ("
            "  select segment_id, count(churn_probability) as scored, "
            "  avg(case when risk_tier = 'lost' then 1.0 else 0.0 end) as lost, "
            "  avg(churn_probability) as mean_churn "
            "  from analytics.customer_360 group by segment_id) c using (segment_id)"
        ).df()
        assert (risk["scored_customers"] == risk["scored"]).all()
        assert (
            risk["churn_scored_share"]
            .round(4)
            .equals((risk["scored_customers"] / risk["customers"]).round(4))
        )
        assert (risk["lost_share"] - risk["lost"]).abs().max() < 1e-4
        assert (risk["avg_churn_probability"] - risk["mean_churn"]).abs().max() < 1e-3
        assert (risk["high_risk_share"] + risk["lost_share"] + risk["no_orders_share"] <= 1).all()
        mostly_lost = risk[risk["lost_share"] > 0.5]
        assert len(mostly_lost) > 0 and (mostly_lost["churn_scored_share"] < 0.5).all()
        for _, row in risk.iterrows():
            if row["scored_customers"] > 0:
                assert (
                    f"over the {row['scored_customers']} active buyers scored"
                    in row["risk_summary"]
                )
        assert mostly_lost["risk_summary"].str.contains("% lost").all()
        next_order = con.execute(
            "select count(*) filter (where expected_next_order_date < as_of_date), "
            "count(*) filter (where expected_next_order_date is null and next_order_note is null), "
            "count(overdue_since), count(days_overdue) from analytics.customer_360"
        ).fetchone()
        assert next_order[:2] == (0, 0) and next_order[2] == next_order[3] > 0
        log = con.execute("select * from analytics.publish_log").df()
        assert len(log) == 1 and log["customers"][0] == 2000
        assert len(log["source_fingerprint"][0]) == 64
    finally:
        con.close()


def test_exports_contain_only_consenting_customers(demo_warehouse) -> None:
    folder = _exports(demo_warehouse) / "2026-01-01"
    manifest = json.loads((folder / "manifest.json").read_text())
    opted_out = set(
        demo_warehouse.query(
            "select customer_id from marts.customer_features "
            "where not coalesce(marketing_opt_in, false)"
        )["customer_id"]
    )
    assert opted_out
    segment_files = [f for f in manifest["files"] if f["audience"].startswith("segment_")]
    assert (
        len(segment_files)
        == 2 * demo_warehouse.query("select count(*) as n from ml.segment_profiles")["n"][0]
    )
    exported = set()
    for entry in manifest["files"]:
        path = folder / entry["file"]
        frame = (
            pd.read_csv(path)
            if entry["format"] == "csv"
            else duckdb.execute(f"select * from '{path}'").df()
        )
        assert len(frame) == entry["rows"]
        assert "email" not in frame.columns and "email_sha256" in frame.columns
        assert "recommended_categories" in frame.columns
        if entry["audience"] == "overdue_replenishment":
            assert {"overdue_since", "days_overdue", "expected_next_order_date"} <= set(
                frame.columns
            )
            assert len(frame) > 0 and (frame["days_overdue"] > 0).all()
        exported |= set(frame["customer_id"])
    assert exported and not exported & opted_out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    root = tmp_path_factory.mktemp("publish")
    written = write_dataset(generate(n_customers=800, seed=13), root / "landing", root / "truth")
    return refresh(written.landing_dir, root / "warehouse.duckdb")


def test_rerunning_an_as_of_date_is_idempotent(small: RefreshedWarehouse) -> None:
    folder = _exports(small) / "2026-01-01"
    before = _export_bytes(folder)
    again = refresh(small.landing_dir, small.warehouse_path)
    after = _export_bytes(folder)
    assert before.keys() == after.keys()
    for name in before:
        if name != "manifest.json":
            assert before[name] == after[name], name
    one, two = (json.loads(x["manifest.json"]) for x in (before, after))
    one.pop("generated_at"), two.pop("generated_at")
    assert one == two
    for table in ("ml.score_history", "ml.segment_history"):
        counts = again.query(
            f"select as_of_date, count(*) as n, count(distinct customer_id) as d "
            f"from {table} group by 1"
        )
        assert len(counts) == 1 and (counts["n"] == counts["d"]).all(), table


def test_tables_above_the_serving_row_limit_stay_in_the_engine_only(
    small: RefreshedWarehouse,
) -> None:
    """The serving file is a copy for tables that fit (ServingConfig.max_rows); above the
    limit the previous file stays as it was and the run says why."""
    from dagster import AssetKey

    from tests.refresh import materialization

    serving_before = _serving(small).read_bytes()
    run = refresh(
        small.landing_dir,
        small.warehouse_path,
        asset_selection=[AssetKey(["publish", "serving_database"])],
        run_config={"ops": {"publish__serving_database": {"config": {"max_rows": 1000}}}},
    )
    metadata = materialization(run.result, "publish/serving_database")
    assert metadata["copied_to_serving_file"].value is False
    assert "above max_rows 1,000" in metadata["note"].value
    assert _serving(small).read_bytes() == serving_before


def test_a_failed_refresh_leaves_serving_and_exports_byte_identical(
    small: RefreshedWarehouse, tmp_path: Path
) -> None:
    serving_before = _serving(small).read_bytes()
    link = _exports(small) / "2026-01-01"
    target_before, files_before = link.resolve(), _export_bytes(link)
    broken = tmp_path / "landing"
    shutil.copytree(small.landing_dir, broken)
    orders = pd.read_csv(broken / "orders.csv").drop(columns=["customer_id"])
    orders.to_csv(broken / "orders.csv", index=False)
    failed = refresh(broken, small.warehouse_path, raise_on_error=False)
    assert not failed.result.success
    assert _serving(small).read_bytes() == serving_before
    assert link.resolve() == target_before and _export_bytes(link) == files_before


def test_readers_never_fail_or_see_a_partial_snapshot_during_a_refresh(
    small: RefreshedWarehouse, tmp_path: Path
) -> None:
    # A second refresh with more customers, so the reader must see the count change.
    landing = tmp_path / "landing"
    shutil.copytree(small.landing_dir, landing)
    with (landing / "orders.csv").open("a") as orders:
        for i in range(25):
            orders.write(f"OX{i},CX{i:04d},2025-12-30 12:00:00,30.0,completed\n")
    stop, result = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.serving_reader",
            str(_serving(small)),
            str(stop),
            str(result),
        ],
        cwd=ROOT,
    )
    try:
        refreshed = refresh(landing, small.warehouse_path)
        assert refreshed.result.success
    finally:
        stop.touch()
        reader.wait(timeout=60)
    outcome = json.loads(result.read_text())
    assert outcome["queries"] > 20
    assert outcome["error_count"] == 0, outcome["errors"]
    assert outcome["inconsistent"] == 0
    assert len(outcome["publishes_seen"]) >= 2  # saw the old snapshot and the new one
