"""Churn, value and next-purchase assets on the demo data, through Dagster."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from demo_data import generate, write_dataset
from tests.refresh import RefreshedWarehouse, refresh, selection_up_to
from tests.support.driver_wording import reads_as_churn_reason


def _materialization(result, key: str):
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == key:
            return event.materialization.metadata
    raise AssertionError(f"{key} was not materialised")


def _metrics(warehouse: RefreshedWarehouse) -> pd.DataFrame:
    return warehouse.query("select * from ml.churn_model_metrics").set_index("scorer")


def test_churn_model_beats_every_baseline_on_the_newest_cutoff(demo_warehouse) -> None:
    metrics = _metrics(demo_warehouse)
    assert metrics.loc["gradient_boosting", "selected"]
    model = metrics.loc["gradient_boosting"]
    assert model["roc_auc"] >= 0.85
    assert model["roc_auc"] >= metrics.loc["recency", "roc_auc"] + 0.03
    assert model["top_decile_lift"] >= 2.5
    for baseline in ("recency", "rfm_score", "bg_nbd"):
        assert model["roc_auc"] > metrics.loc[baseline, "roc_auc"], baseline
        assert model["brier"] < metrics.loc[baseline, "brier"], baseline


def test_validation_is_time_based_and_never_trained_on(demo_warehouse) -> None:
    metrics = demo_warehouse.query("select * from ml.churn_model_metrics")
    cutoffs = demo_warehouse.query("select distinct cutoff_date from marts.churn_training_set")
    newest = cutoffs["cutoff_date"].max()
    assert (metrics["validation_cutoff"] == newest).all()
    training = metrics["training_cutoffs"].iloc[0].split(", ")
    assert str(newest.date()) not in training
    assert str(metrics["calibration_cutoff"].iloc[0].date()) not in training


def test_value_predictions_are_reported_against_actual_revenue(demo_warehouse) -> None:
    value = demo_warehouse.query("select * from ml.value_model_metrics").set_index(
        ["predictor", "target"]
    )
    model = value.loc[("value_model", "future_revenue")]
    assert model["pearson"] > 0.6
    assert model["spearman"] > value.loc[("run_rate_baseline", "future_revenue"), "spearman"]


def test_every_customer_is_scored(demo_warehouse) -> None:
    scores = demo_warehouse.query("select * from ml.churn_scores")
    features = demo_warehouse.query("select * from marts.customer_features")
    assert len(scores) == len(features) == 2000
    assert scores["customer_id"].is_unique
    assert set(scores["risk_tier"]) <= {"low", "medium", "high", "lost", "no_orders"}
    active = features["frequency"].gt(0) & features["recency_days"].le(365)
    merged = (
        features[["customer_id", "frequency"]].assign(active=active).merge(scores, on="customer_id")
    )
    assert merged.loc[merged["active"], "churn_probability"].between(0, 1).all()
    assert merged.loc[~merged["active"], "churn_probability"].isna().all()
    assert (merged["predicted_revenue"] >= 0).all() and (merged["value_12m"] >= 0).all()
    high = merged[merged["risk_tier"] == "high"]
    assert high["driver_1"].notna().mean() > 0.9
    # Drivers explain a risk: low-risk, lost and never-bought customers get none.
    not_at_risk = merged[~merged["risk_tier"].isin(["medium", "high"])]
    assert len(not_at_risk) > 0 and not_at_risk["driver_1"].isna().all()


def test_edge_cases_one_order_and_no_orders(demo_warehouse) -> None:
    joined = demo_warehouse.query(
        "select s.*, f.frequency, f.recency_days from ml.churn_scores s "
        "join marts.customer_features f using (customer_id)"
    )
    no_orders = joined[joined["frequency"] == 0]
    assert len(no_orders) > 0
    assert (no_orders["risk_tier"] == "no_orders").all()
    assert no_orders["expected_next_order_date"].isna().all()
    assert not no_orders["overdue"].any()
    one = joined[(joined["frequency"] == 1) & (joined["recency_days"] <= 365)]
    assert len(one) > 0
    assert one["churn_probability"].notna().all()
    assert one["expected_next_order_date"].isna().all()  # no rhythm from one order
    assert not one["overdue"].any()


def test_next_purchase_is_never_in_the_past_and_says_why(demo_warehouse) -> None:
    scores = demo_warehouse.query(
        "select s.*, f.frequency from ml.churn_scores s "
        "join marts.customer_features f using (customer_id)"
    )
    as_of = scores["as_of_date"].iloc[0]
    dated = scores[scores["expected_next_order_date"].notna()]
    assert len(dated) > 500
    assert (dated["expected_next_order_date"] >= as_of).all()
    assert (dated["risk_tier"] != "lost").all()
    undated = scores[scores["expected_next_order_date"].isna()]
    assert undated["next_order_note"].str.match("one order only|lost|no orders yet").all()
    lost = scores[scores["risk_tier"] == "lost"]
    assert len(lost) > 0 and lost["next_order_note"].str.startswith("lost").all()
    past_due = scores[scores["overdue_since"].notna()]
    assert len(past_due) > 100
    assert (past_due["overdue_since"] < as_of).all() and (past_due["days_overdue"] > 0).all()
    assert (past_due["next_order_note"] == "past due: next cycle if still active").all()
    assert ((as_of - past_due["overdue_since"]).dt.days == past_due["days_overdue"]).all()
    # Every customer in the overdue audience shows since when.
    overdue = scores[scores["overdue"]]
    assert len(overdue) > 0 and overdue["overdue_since"].notna().all()


def test_every_driver_reads_as_a_reason_to_worry(demo_warehouse) -> None:
    scores = demo_warehouse.query("select driver_1, driver_2, driver_3 from ml.churn_scores")
    drivers = pd.concat([scores[c] for c in scores.columns]).dropna()
    assert len(drivers) > 500
    reassuring = drivers[~drivers.map(reads_as_churn_reason)]
    assert reassuring.empty, reassuring.value_counts().head(10).to_dict()


def test_churn_metadata_shows_metrics_plots_and_importance(demo_warehouse) -> None:
    metadata = _materialization(demo_warehouse.result, "ml/churn_model")
    assert "gradient_boosting" in metadata["metrics_vs_baselines"].value
    for key in ("roc_curves", "calibration_plot", "feature_importance"):
        assert "data:image/png;base64," in metadata[key].value, key
    assert metadata["fairness_flagged_groups"].value >= 0
    checks = {c.check_name: c.passed for c in demo_warehouse.result.get_asset_check_evaluations()}
    assert checks["model_in_use_beats_recency"]
    assert checks["scores_valid"]
    history = demo_warehouse.query("select count(*) as n from ml.score_history")
    assert history["n"][0] == 2000


def _up_to_scores(landing: Path, warehouse: Path) -> list:
    """The churn scores, the segments and what they read: no recommendations, serving or
    exports, which these tests do not look at."""
    return selection_up_to(landing, warehouse, "ml/churn_scores", "ml/customer_segments")


def test_a_model_worse_than_recency_blocks_scoring(demo_warehouse, tmp_path: Path) -> None:
    """The blocking check stops scores when the model in use ranks worse than recency."""
    models = tmp_path / "models"
    shutil.copytree(demo_warehouse.warehouse_path.parent / "models", models)
    version = (models / "churn" / "current").read_text().strip()
    meta_path = models / "churn" / f"{version}.json"
    meta = json.loads(meta_path.read_text())
    meta["selected_auc"] = meta["recency_auc"] - 0.1  # as if the model had degraded
    meta_path.write_text(json.dumps(meta))
    run = refresh(
        demo_warehouse.landing_dir,
        tmp_path / "w.duckdb",
        model_dir=models,
        raise_on_error=False,
        asset_selection=_up_to_scores(demo_warehouse.landing_dir, tmp_path / "w.duckdb"),
    )
    checks = {c.check_name: c for c in run.result.get_asset_check_evaluations()}
    assert not checks["model_in_use_beats_recency"].passed
    materialised = {
        e.asset_key.to_user_string() for e in run.result.get_asset_materialization_events()
    }
    assert "ml/churn_model" in materialised
    assert "ml/churn_scores" not in materialised
    assert "ml/customer_segments" in materialised  # other branches are not affected


def test_as_of_before_most_history_falls_back_to_pareto_nbd_with_a_note(tmp_path: Path) -> None:
    """Less history than a horizon plus a few cutoffs: no trainable churn model, so Pareto/NBD
    (fitted on the orders before the as-of date, no labels) scores customers, and says so."""
    written = write_dataset(
        generate(n_customers=800, seed=3), tmp_path / "landing", tmp_path / "truth"
    )
    warehouse = tmp_path / "w.duckdb"
    run = refresh(
        written.landing_dir,
        warehouse,
        as_of="2023-06-01",
        asset_selection=_up_to_scores(written.landing_dir, warehouse),
    )
    assert run.result.success
    registry = run.query("select selected_scorer, selection_note, split from ml.churn_models")
    assert registry["selected_scorer"][0] == "pareto_nbd"
    assert registry["selection_note"][0].startswith("fallback: ")
    assert "cutoff" in registry["selection_note"][0]  # says which cutoffs lack labels
    scores = run.query("select churn_probability, predicted_revenue from ml.churn_scores")
    scored = scores["churn_probability"].dropna()
    assert len(scored) > 100 and scored.between(0, 1, inclusive="neither").all()
    assert (scores["predicted_revenue"] >= 0).all()
    checks = {c.check_name: c for c in run.result.get_asset_check_evaluations()}
    assert checks["model_in_use_beats_recency"].passed
    assert "not validated" in checks["model_in_use_beats_recency"].description


def test_scores_are_deterministic(demo_warehouse, tmp_path: Path) -> None:
    warehouse = tmp_path / "again.duckdb"
    again = refresh(
        demo_warehouse.landing_dir,
        warehouse,
        asset_selection=_up_to_scores(demo_warehouse.landing_dir, warehouse),
    )
    sql = "select * exclude (model_version) from ml.churn_scores order by customer_id"
    pd.testing.assert_frame_equal(demo_warehouse.query(sql), again.query(sql))
    assert np.array_equal(
        demo_warehouse.query("select model_version from ml.churn_models")["model_version"],
        again.query("select model_version from ml.churn_models")["model_version"],
    )


def test_batched_driver_effects_equal_one_prediction_per_concept(demo_warehouse) -> None:
    """Drivers score all perturbed copies in a few stacked predictions; the effects must be
    exactly those of re-scoring the at-risk customers once per concept (the plain method)."""
    from ml.model_store import ModelStore
    from ml.prediction import drivers
    from ml.prediction.btyd_features import add_btyd_features

    _, model = ModelStore(demo_warehouse.warehouse_path.parent / "models").load_current("churn")
    features = demo_warehouse.query("select * from marts.customer_features order by customer_id")
    frame = add_btyd_features(features, model.horizon_days, cutoff_column="as_of_date")
    at_risk = demo_warehouse.query(
        "select customer_id from ml.churn_scores where risk_tier in ('medium', 'high')"
    )["customer_id"]
    frame = frame[frame["customer_id"].isin(at_risk)]
    assert len(frame) > 100
    scorer, typical = model.churn.scorer, model.typical
    base = scorer.attribution_score(frame)
    expected = {}
    for concept, columns in drivers.CONCEPTS.items():
        replaced = [c for c in columns if c in scorer.features and c in typical.index]
        if replaced:
            neutral = frame.assign(**{c: typical[c] for c in replaced})
            effect = base - scorer.attribution_score(neutral)
            holds = drivers.on_churn_side(concept, frame, typical)
            expected[concept] = np.where(holds, effect, -np.inf)
    assert len(expected) >= 5
    # One stacked prediction, and one prediction per concept's block.
    for batch_rows in (drivers.BATCH_ROWS, 97):
        original, drivers.BATCH_ROWS = drivers.BATCH_ROWS, batch_rows
        try:
            effects = drivers.concept_effects(scorer, frame, typical)
        finally:
            drivers.BATCH_ROWS = original
        assert list(effects) == list(expected)
        for concept, effect in expected.items():
            np.testing.assert_array_equal(effects[concept], effect, err_msg=concept)


def test_a_customers_scores_do_not_depend_on_its_batch(demo_warehouse) -> None:
    """The run's BTYD parameters are fitted once and missing scores take the calibrator's
    training median, so scoring in any batches (an engine's partitions) gives the rows of one
    whole-table call, which are the rows the pipeline wrote."""
    from ml.model_store import ModelStore
    from ml.prediction.batch_scoring import CHURN_SCORES_SCHEMA, CustomerScoresBatch
    from tests.support.frames import comparable

    version, model = ModelStore(demo_warehouse.warehouse_path.parent / "models").load_current(
        "churn"
    )
    features = demo_warehouse.query("select * from marts.customer_features order by customer_id")
    scorer = CustomerScoresBatch(model, model.fit_btyd(features), version)
    whole = scorer(features)
    shuffled = features.sample(frac=1, random_state=5).reset_index(drop=True)
    batches = pd.concat(
        [scorer(shuffled.iloc[start : start + 97]) for start in range(0, len(shuffled), 97)]
    )
    batches = batches.sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(batches, whole)
    assert whole["churn_probability"].notna().sum() > 500
    written = demo_warehouse.query("select * from ml.churn_scores order by customer_id")
    pd.testing.assert_frame_equal(
        comparable(written, CHURN_SCORES_SCHEMA), comparable(whole, CHURN_SCORES_SCHEMA)
    )
