"""The demo generator's planted category habits are recovered by the behaviour marts, and reach
customer_360, the audience exports and the asset metadata (one shared demo refresh)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from tests.refresh import RefreshedWarehouse, materialization


def _truth(run: RefreshedWarehouse) -> pd.DataFrame:
    assert run.truth_dir is not None
    return pd.read_csv(run.truth_dir / "category_cadence_truth.csv", dtype={"season_months": str})


def test_planted_replenishment_cycles_are_estimated_within_15_percent(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    truth = _truth(demo_warehouse)
    # A cycle is visible from three purchases on (two gaps).
    planted = truth[(truth["habit"] == "replenishment") & (truth["planted_purchases"] >= 3)]
    cadence = demo_warehouse.query("select * from marts.customer_category_cadence")
    found = planted.merge(cadence, on=["customer_id", "category"], how="left")
    assert len(planted) >= 100 and found["median_gap_days"].notna().all()
    error = (found["median_gap_days"] / found["cycle_days"] - 1).abs()
    assert (error <= 0.15).mean() >= 0.9, error.describe()
    assert error.median() <= 0.05


def test_planted_seasonal_buyers_are_found_with_precision_and_recall(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    truth = _truth(demo_warehouse)
    # A seasonal buyer: the season was planted in at least two years.
    planted = truth[(truth["habit"] == "seasonal") & (truth["planted_years"] >= 2)]
    seasonal = demo_warehouse.query(
        "select customer_id, category, season_start_month, season_length_months "
        "from marts.customer_category_seasonality where is_seasonal"
    )
    pairs = seasonal.merge(planted, on=["customer_id", "category"], how="left", indicator=True)
    hits = pairs[pairs["_merge"] == "both"]
    precision = len(hits) / len(seasonal)
    recall = len(hits) / len(planted)
    assert len(planted) >= 100
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)
    # The season found lies in the planted months.
    start_month_planted = hits.apply(
        lambda row: row["season_start_month"] in {int(m) for m in row["season_months"].split(",")},
        axis=1,
    )
    assert start_month_planted.mean() >= 0.9


def test_habits_reach_customer_360_exports_and_metadata(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    c360 = demo_warehouse.query(
        "select customer_id, as_of_date, marketing_opt_in, next_due_category, next_due_date, "
        "next_seasonal_category, next_season_start from analytics.customer_360"
    )
    due = demo_warehouse.query(
        "select customer_id, category, next_due_date from marts.customer_category_cadence "
        "where due_rank = 1"
    )
    joined = c360.merge(due, on="customer_id")
    assert len(joined) == c360["next_due_category"].notna().sum() > 0
    assert (joined["next_due_category"] == joined["category"]).all()
    for date_column, category in (
        ("next_due_date", "next_due_category"),
        ("next_season_start", "next_seasonal_category"),
    ):
        present = c360[c360[category].notna()]
        assert len(present) > 0 and present[date_column].notna().all()
        assert (pd.to_datetime(present[date_column]) >= pd.to_datetime(present["as_of_date"])).all()

    exports = demo_warehouse.warehouse_path.parent / "exports"
    folder = next(p for p in exports.iterdir() if p.is_symlink()).resolve()
    manifest = json.loads((folder / "manifest.json").read_text())
    files = {(f["audience"], f["format"]): f for f in manifest["files"]}
    as_of = pd.Timestamp(c360["as_of_date"].iloc[0])
    consenting = set(c360.loc[c360["marketing_opt_in"].fillna(False), "customer_id"])
    for audience, date_column, days in (
        ("replenishment_due_7d", "due_date", 7),
        ("season_starting_30d", "season_start", 30),
    ):
        entry = files[(audience, "parquet")]
        rows = duckdb.execute(f"select * from '{folder / entry['file']}'").df()
        assert len(rows) == entry["rows"] > 0 and (audience, "csv") in files
        assert {"category", date_column, "email_sha256"} <= set(rows.columns)
        assert rows["category"].notna().all() and set(rows["customer_id"]) <= consenting
        when = pd.to_datetime(rows[date_column])
        assert ((when >= as_of) & (when < as_of + pd.Timedelta(days=days))).all()

    cadence = materialization(demo_warehouse.result, "marts/customer_category_cadence")
    assert cadence["cadence_note"].value == "computed from the order lines"
    assert 0 < cadence["share_of_with_cadence"].value <= 1
    seasonality = materialization(demo_warehouse.result, "marts/customer_category_seasonality")
    assert seasonality["customers_with_seasonal_category"].value > 0
    c360_meta = materialization(demo_warehouse.result, "analytics/customer_360")
    assert c360_meta["share_of_with_next_due_category"].value > 0
