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
