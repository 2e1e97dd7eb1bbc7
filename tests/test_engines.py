"""The engine seam (engines/): both engines read, write, sample and map the same way, so
assets and ml/ code never need to know which one runs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from engines import EngineError, EngineSettings, open_engine
from engines.base import Engine
from engines.duckdb_engine import DuckDBEngine
from orchestration.settings import SettingsError, engine_settings
from tests.support.frames import comparable
from tests.support.spark import spark_session  # noqa: F401 (fixture)


@pytest.fixture(params=["duckdb", "spark"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "duckdb":
        duck = DuckDBEngine.open()
        yield duck
        duck.close()
        return
    from engines.spark_engine import SparkEngine

    spark = request.getfixturevalue("spark_session")
    spark.sql("drop database if exists seam cascade")
    yield SparkEngine(spark)


def _customers(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "cutoff_date": pd.to_datetime(["2024-01-01", "2024-07-01"] * (n // 2)),
            "recency_days": rng.integers(0, 400, n).astype("int64"),
            "spend": rng.gamma(2.0, 50.0, n).round(2),
        }
    )


def test_write_read_append_and_sql(engine: Engine) -> None:
    frame = _customers(40)
    engine.write_table(frame, "seam.customers")
    assert engine.table_exists("seam.customers")
    assert not engine.table_exists("seam.nothing_here")
    back = engine.read_table("seam.customers").sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)

    engine.write_table(frame.head(5), "seam.customers", mode="append")
    some = engine.read_table("seam.customers", ["customer_id"], where="recency_days < 100")
    assert list(some.columns) == ["customer_id"]
    assert (
        len(some)
        == (frame["recency_days"] < 100).sum() + (frame.head(5)["recency_days"] < 100).sum()
    )
    engine.write_table(frame.head(3), "seam.customers", mode="replace")
    counted = engine.sql("select count(*) as n from seam.customers")
    assert int(counted["n"].iloc[0]) == 3
    engine.execute("create table seam.copy as select * from seam.customers where spend > 0")
    assert len(engine.read_table("seam.copy")) == 3


def test_replace_rows_keeps_an_idempotent_history(engine: Engine) -> None:
    day = pd.DataFrame(
        {"day": pd.to_datetime(["2024-01-02"] * 3).date, "customer_id": ["a", "b", "c"]}
    )
    day["score"] = [0.1, 0.2, 0.3]
    engine.write_table(day, "seam.today")
    engine.replace_rows(
        "seam.today", "seam.history", "day", day["day"].iloc[0], ["day", "customer_id"]
    )
    assert [c for c, _ in engine.columns("seam.history")] == ["day", "customer_id"]
    # Another day appends; the same day again replaces its rows, with the new column added.
    later = day.assign(day=pd.to_datetime(["2024-01-03"] * 3).date)
    engine.write_table(later, "seam.today")
    engine.replace_rows("seam.today", "seam.history", "day", later["day"].iloc[0])
    engine.write_table(later.head(2).assign(score=0.9), "seam.today")
    engine.replace_rows("seam.today", "seam.history", "day", later["day"].iloc[0])
    history = engine.sql(
        "select cast(day as string) as day, count(*) as n, sum(score) as score "
        "from seam.history group by day order by day"
    )
    assert history["day"].tolist() == ["2024-01-02", "2024-01-03"]
    assert history["n"].tolist() == [3, 2]
    assert pd.isna(history["score"].iloc[0]) and history["score"].iloc[1] == pytest.approx(1.8)

    # Arrow batches (the serving copy): every row, the table's columns, one batch when empty.
    batches = list(engine.arrow_batches("seam.history", batch_rows=2))
    assert sum(b.num_rows for b in batches) == 5 and len(batches) >= 3
    assert batches[0].schema.names == ["day", "customer_id", "score"]
    engine.execute("create table seam.nothing as select * from seam.history where score > 5")
    (empty,) = engine.arrow_batches("seam.nothing")
    assert empty.num_rows == 0 and empty.schema.names == ["day", "customer_id", "score"]


def test_sample_draws_the_same_rows_on_every_engine(engine: Engine) -> None:
    frame = _customers(200)
    engine.write_table(frame, "seam.training")
    drawn = engine.sample("seam.training", "customer_id", 42, 30, partition_by=["cutoff_date"])
    # The rule, computed here in Python: per cutoff, the 30 lowest md5(id || ':42').
    import hashlib

    draw = frame["customer_id"].map(lambda c: hashlib.md5(f"{c}:42".encode()).hexdigest())
    expected = (
        frame.assign(_d=draw)
        .sort_values(["cutoff_date", "_d"])
        .groupby("cutoff_date")
        .head(30)
        .sort_values(["cutoff_date", "customer_id"])["customer_id"]
        .tolist()
    )
    assert drawn["customer_id"].tolist() == expected
    assert "_draw_rank" not in drawn.columns
    everything = engine.sample("seam.training", "customer_id", 42, 0)
    assert len(everything) == 200


def _double_spend(batch: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": batch["customer_id"], "double_spend": batch["spend"] * 2.0})


def test_map_partitions_applies_a_function_batch_by_batch(engine: Engine) -> None:
    frame = _customers(500)
    engine.write_table(frame, "seam.mapped_in")
    written = engine.map_partitions(
        "seam.mapped_in",
        "seam.mapped_out",
        _double_spend,
        {"customer_id": "string", "double_spend": "double"},
        batch_rows=64,
    )
    assert written == 500
    out = engine.read_table("seam.mapped_out").sort_values("customer_id", ignore_index=True)
    np.testing.assert_allclose(out["double_spend"], frame["spend"] * 2.0)

    with pytest.raises(EngineError, match="double_spend"):
        engine.map_partitions(
            "seam.mapped_in",
            "seam.bad_out",
            lambda b: b[["customer_id"]],
            {"customer_id": "string", "double_spend": "double"},
        )


def test_engine_settings_name_the_variable() -> None:
    assert engine_settings({}).name == "duckdb"
    settings = engine_settings(
        {"INSIGHTS_ENGINE": " Spark ", "INSIGHTS_SPARK_CONF": "spark.a=1; spark.b = x"}
    )
    assert settings.name == "spark"
    assert settings.spark_master == "local[2]"
    assert settings.spark_conf == {"spark.a": "1", "spark.b": "x"}
    with pytest.raises(SettingsError, match="INSIGHTS_ENGINE='flink'"):
        engine_settings({"INSIGHTS_ENGINE": "flink"})
    with pytest.raises(SettingsError, match="INSIGHTS_SPARK_CONF"):
        engine_settings({"INSIGHTS_SPARK_CONF": "no-equals-sign"})
    with pytest.raises(EngineError, match="flink"), open_engine(EngineSettings(name="flink")):
        pass


def test_distributed_churn_scoring_equals_the_in_process_call(engine: Engine) -> None:
    """A fitted churn model applied batch by batch in the engine (mapInPandas on Spark, record
    batches on DuckDB) gives every customer the probability the in-process call gives."""
    from ml.prediction.batch_scoring import CHURN_PROBABILITY_SCHEMA, ChurnProbabilityBatch
    from ml.prediction.scorers import CalibratedScorer, Calibrator, GradientBoostingScorer

    rng = np.random.default_rng(11)
    n = 400
    features = pd.DataFrame(
        {
            "customer_id": [f"k{i:04d}" for i in range(n)],
            "recency_days": rng.integers(0, 365, n).astype(float),
            "frequency": rng.poisson(3, n).astype(float),
            "monetary_total": rng.gamma(2.0, 40.0, n),
        }
    )
    features.loc[features.index % 17 == 0, "monetary_total"] = np.nan  # missing values too
    churned = (rng.random(n) < 1 / (1 + np.exp(-(features["recency_days"] - 180) / 60))).astype(int)
    columns = ["recency_days", "frequency", "monetary_total"]
    scorer = GradientBoostingScorer(columns, max_iter=25).fit(features, churned.to_numpy())
    model = CalibratedScorer(scorer, Calibrator().fit(scorer.score(features), churned.to_numpy()))
    expected = model.predict_proba(features)

    engine.write_table(features, "seam.features")
    written = engine.map_partitions(
        "seam.features",
        "seam.churn_scores",
        ChurnProbabilityBatch(model),
        CHURN_PROBABILITY_SCHEMA,
        batch_rows=70,  # several batches per partition
    )
    assert written == n
    scored = engine.read_table("seam.churn_scores").sort_values("customer_id", ignore_index=True)
    assert scored["customer_id"].tolist() == features["customer_id"].tolist()
    np.testing.assert_allclose(scored["churn_probability"], expected, rtol=0, atol=1e-12)
    assert scored["churn_probability"].nunique() > 20  # a real model, not a constant


def _customer_features(n: int = 600, seed: int = 5) -> pd.DataFrame:
    """customer_features-like rows of one as-of date: buyers with an order history, and
    sign-ups without orders."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2025-06-30")
    tenure = rng.integers(30, 900, n)
    frequency = np.where(rng.random(n) < 0.15, 0, 1 + rng.poisson(3, n))
    first = as_of - pd.to_timedelta(tenure, unit="D")
    active_span = (tenure * rng.uniform(0.1, 1.0, n)).astype(int)
    last = first + pd.to_timedelta(active_span, unit="D")
    buyer = frequency > 0
    monetary = np.where(buyer, frequency * rng.gamma(2.0, 30.0, n), 0.0)
    gap = np.where(frequency >= 2, active_span / np.maximum(frequency - 1, 1), np.nan)
    return pd.DataFrame(
        {
            "customer_id": [f"m{i:04d}" for i in range(n)],
            "as_of_date": as_of.date(),
            "frequency": frequency.astype("int64"),
            "first_order_at": pd.Series(first).where(buyer),
            "last_order_at": pd.Series(last).where(buyer),
            "recency_days": np.where(buyer, (as_of - last).days, np.nan),
            "tenure_days": tenure.astype(float),
            "monetary_total": monetary,
            "avg_order_value": np.where(buyer, monetary / np.maximum(frequency, 1), np.nan),
            "median_days_between_orders": gap,
            "stddev_days_between_orders": gap * 0.3,
            "revenue_last_365d": monetary * 0.5,
        }
    )


@pytest.fixture(scope="module")
def fitted_models() -> tuple[pd.DataFrame, object, object]:
    """Customer features with a churn/value model and a segmentation model fitted on them."""
    from ml.prediction.btyd_features import apply_btyd, fit_btyd
    from ml.prediction.drivers import typical_values
    from ml.prediction.model import PredictionModel, RiskTiers
    from ml.prediction.scorers import CalibratedScorer, Calibrator, GradientBoostingScorer
    from ml.prediction.value import ValueModel
    from ml.segmentation import SegmentationConfig, SegmentationModel, SelectionConfig

    features = _customer_features()
    rng = np.random.default_rng(8)
    train = apply_btyd(features, fit_btyd(features, "as_of_date"), 90, "as_of_date")
    buyers = train[train["frequency"] > 0].copy()
    churned = (rng.random(len(buyers)) < buyers["recency_days"] / 900).astype(int).to_numpy()
    columns = ["recency_days", "frequency", "monetary_total", "btyd_p_alive", "pnbd_p_alive"]
    scorer = GradientBoostingScorer(columns, max_iter=25).fit(buyers, churned)
    churn = CalibratedScorer(scorer, Calibrator().fit(scorer.score(buyers), churned))
    train["future_orders"] = rng.poisson(1.0, len(train)).astype(float)
    train["future_revenue"] = train["future_orders"] * 40.0
    value = ValueModel(columns, 90, kind="pareto_nbd_gamma_gamma")
    value.fit(train)
    prediction = PredictionModel(churn, value, typical_values(buyers, columns), 90, RiskTiers())
    selection = SelectionConfig(k_min=2, k_max=4, n_init=2)
    segmentation = SegmentationModel(SegmentationConfig(selection=selection, final_n_init=2))
    segmentation.fit(features)
    ids = np.arange(1, segmentation.n_segments + 1)
    segmentation.segment_names_ = pd.DataFrame(
        {"segment_id": ids, "archetype": "test", "segment_name": [f"group {i}" for i in ids]}
    )
    return features, prediction, segmentation


def test_distributed_scores_and_segments_equal_the_in_process_call(
    engine: Engine, fitted_models: tuple
) -> None:
    """What the churn_scores and customer_segments assets run: the run's BTYD parameters
    fitted once on the engine's hash-drawn buyers, then the fitted models mapped over the
    customer table in batches. Every engine gives the rows of one in-process call."""
    from ml.prediction.batch_scoring import CHURN_SCORES_SCHEMA, CustomerScoresBatch
    from ml.segmentation.batch import CUSTOMER_SEGMENTS_SCHEMA, SegmentAssignmentBatch

    features, prediction, segmentation = fitted_models
    engine.write_table(features, "seam.customer_features")
    buyers = engine.sample("seam.customer_features", "customer_id", 42, 0, where="frequency > 0")
    assert len(buyers) == int((features["frequency"] > 0).sum())
    scorer = CustomerScoresBatch(prediction, prediction.fit_btyd(buyers), "churn-test")
    assigner = SegmentAssignmentBatch(segmentation, "segments-test")
    for function, schema, target in (
        (scorer, CHURN_SCORES_SCHEMA, "seam.churn_scores"),
        (assigner, CUSTOMER_SEGMENTS_SCHEMA, "seam.customer_segments"),
    ):
        written = engine.map_partitions(
            "seam.customer_features", target, function, schema, batch_rows=90
        )
        assert written == len(features)
        expected = comparable(function(features), schema)
        got = comparable(engine.read_table(target), schema)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-12)
    scores = engine.read_table("seam.churn_scores")
    assert scores["churn_probability"].notna().sum() > 300  # buyers scored, sign-ups not
    assert scores["driver_1"].notna().any()  # medium/high risk customers got their drivers
    assert engine.read_table("seam.customer_segments")["segment_id"].nunique() >= 2
