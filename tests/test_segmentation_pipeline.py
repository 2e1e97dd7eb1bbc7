"""Segmentation assets on the demo data: persona recovery, stability, stable ids over days."""

from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from demo_data import generate, write_dataset
from tests.refresh import RefreshedWarehouse, refresh, selection_up_to
from tests.support.segment_rules import assert_segments_actionable


def _materialization(result, key: str):
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == key:
            return event.materialization.metadata
    raise AssertionError(f"{key} was not materialised")


def test_recovers_the_planted_personas(demo_warehouse: RefreshedWarehouse) -> None:
    segments = demo_warehouse.query("select customer_id, segment_id from ml.customer_segments")
    truth = pd.read_csv(demo_warehouse.truth_dir / "customers_truth.csv")
    joined = segments.merge(truth, on="customer_id", validate="one_to_one")
    assert len(joined) == 2000
    assert adjusted_rand_score(joined["persona"], joined["segment_id"]) >= 0.80


def test_model_is_stable_under_bootstrap(demo_warehouse: RefreshedWarehouse) -> None:
    registry = demo_warehouse.query("select * from ml.segment_models")
    assert len(registry) == 1
    assert registry["mean_stability_ari"][0] >= 0.90


def test_outputs_are_complete_and_consistent(demo_warehouse: RefreshedWarehouse) -> None:
    segments = demo_warehouse.query("select * from ml.customer_segments")
    assert segments["customer_id"].is_unique and len(segments) == 2000
    assert segments["margin_to_second"].between(0, 1).all()
    profiles = demo_warehouse.query("select * from ml.segment_profiles order by segment_id")
    assert profiles["customers"].sum() == 2000
    assert profiles["share"].sum() == pytest.approx(1.0)
    assert profiles["revenue_share"].sum() == pytest.approx(1.0)
    assert profiles["segment_name"].is_unique
    assert profiles["recommended_action"].notna().all()
    assert profiles["description"].str.contains("customers").all()
    assert {"mean_recency_days", "median_frequency", "rfm_segment_mix"} <= set(profiles.columns)
    selection = demo_warehouse.query("select * from ml.segment_model_selection order by k")
    assert selection["k"].tolist() == list(range(2, 13))
    assert selection["chosen"].sum() == 1
    assert selection.loc[selection["chosen"], "k"].item() == len(profiles)
    history = demo_warehouse.query("select * from ml.segment_history")
    assert len(history) == 2000


def test_segments_are_actionable_and_named_by_their_medians(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    summary = assert_segments_actionable(demo_warehouse.query)
    assert len(summary) >= 3


def test_segment_metadata_has_metrics_and_charts(demo_warehouse: RefreshedWarehouse) -> None:
    model = _materialization(demo_warehouse.result, "ml/segment_model")
    assert "silhouette" in model["metrics_per_k"].value
    assert model["selection_chart"].value.startswith("![k selection](data:image/png;base64,")
    assert "Calinski" in model["why_this_k"].value or "pinned" in model["why_this_k"].value
    segments = _materialization(demo_warehouse.result, "ml/customer_segments")
    assert "data:image/png;base64," in segments["pca_scatter"].value
    profiles = _materialization(demo_warehouse.result, "ml/segment_profiles")
    report = Path(profiles["report"].value)
    assert report.exists() and "plotly" in report.read_text()[:200_000].lower()
    checks = {c.check_name: c.passed for c in demo_warehouse.result.get_asset_check_evaluations()}
    assert checks["stability_above_floor"]
    assert checks["no_empty_segment"]
    assert checks["every_customer_assigned_once"]
    assert checks["names_match_medians"]


@pytest.fixture(scope="module")
def daily_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RefreshedWarehouse]:
    """Day 1 without the last day of data, day 2 with it (model reused), then day 2 again
    with a forced refit. All share one warehouse and one model store."""
    root = tmp_path_factory.mktemp("daily")
    written = write_dataset(generate(n_customers=1500, seed=5), root / "full", root / "truth")
    day_one = root / "day_one"
    day_one.mkdir()
    for name in ("customers", "orders", "events", "order_items"):
        frame = pd.read_csv(written.landing_dir / f"{name}.csv")
        column = {"customers": "signup_at", "orders": "ordered_at", "events": "occurred_at"}.get(
            name
        )
        if column:
            frame = frame[frame[column] < "2025-12-31"]
        frame.to_csv(day_one / f"{name}.csv", index=False)
    # A customer who signs up and orders on the last day.
    with (written.landing_dir / "customers.csv").open("a") as customers:
        customers.write("CNEW0001,2025-12-31 10:00:00,DE,organic,cnew@example.com,true\n")
    with (written.landing_dir / "orders.csv").open("a") as orders:
        orders.write("ONEW0001,CNEW0001,2025-12-31 10:05:00,42.0,completed\n")
    warehouse = root / "warehouse.duckdb"
    # The segmentation assets and what they read; not the other models, serving or exports.
    segmentation = selection_up_to(
        day_one, warehouse, "ml/segment_migrations", "ml/segment_profiles"
    )
    runs = {"day_one": refresh(day_one, warehouse, asset_selection=segmentation)}
    runs["day_one_segments"] = runs["day_one"].query("select * from ml.customer_segments")
    runs["day_two"] = refresh(written.landing_dir, warehouse, asset_selection=segmentation)
    runs["day_two_segments"] = runs["day_two"].query("select * from ml.customer_segments")
    runs["refit"] = refresh(
        written.landing_dir,
        warehouse,
        run_config={"ops": {"ml__segment_model": {"config": {"refit": True}}}},
        asset_selection=segmentation,
    )
    return runs


def _same_id_share(before: pd.DataFrame, after: pd.DataFrame) -> float:
    joined = before.merge(after, on="customer_id", suffixes=("_before", "_after"))
    return float((joined["segment_id_before"] == joined["segment_id_after"]).mean())


def test_one_more_day_keeps_customers_in_their_segment(daily_runs) -> None:
    day_two = _materialization(daily_runs["day_two"].result, "ml/segment_model")
    assert day_two["refit"].value is False
    share = _same_id_share(daily_runs["day_one_segments"], daily_runs["day_two_segments"])
    assert share >= 0.95
    # A customer who first appeared on the last day is assigned the same day.
    day_one = set(daily_runs["day_one_segments"]["customer_id"])
    day_two = set(daily_runs["day_two_segments"]["customer_id"])
    assert day_two - day_one == {"CNEW0001"}


def test_forced_refit_keeps_segment_ids(daily_runs) -> None:
    refit = _materialization(daily_runs["refit"].result, "ml/segment_model")
    assert refit["refit"].value is True
    after = daily_runs["refit"].query("select * from ml.customer_segments")
    assert _same_id_share(daily_runs["day_two_segments"], after) >= 0.95
    models = daily_runs["refit"].query("select * from ml.segment_models order by trained_as_of")
    assert "matched to the previous model" in models["identity"].iloc[-1]


def test_history_is_idempotent_and_migrations_count_transitions(daily_runs) -> None:
    history = daily_runs["refit"].query(
        "select as_of_date, count(*) as n, count(distinct customer_id) as customers "
        "from ml.segment_history group by 1 order by 1"
    )
    assert len(history) == 2  # day two was run twice and replaced, not appended
    assert (history["n"] == history["customers"]).all()
    migrations = daily_runs["refit"].query("select * from ml.segment_migrations")
    assert migrations["customers"].sum() == history["customers"].iloc[0]
    stayed = migrations.loc[
        migrations["from_segment_id"] == migrations["to_segment_id"], "customers"
    ]
    assert stayed.sum() / migrations["customers"].sum() >= 0.95
