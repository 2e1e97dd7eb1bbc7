"""The churn/value training sample drawn in the engine (Engine.sample), and how the ML code
uses its flags."""

from __future__ import annotations

import duckdb
import pandas as pd

from engines.duckdb_engine import DuckDBEngine
from ml.prediction.churn import ChurnConfig, churn_rows
from ml.prediction.dataset import CHURN_SAMPLE, VALUE_SAMPLE
from ml.prediction.value import value_rows
from orchestration.defs.prediction import sampled_training_set


def _training_set(con: duckdb.DuckDBPyConnection) -> None:
    """20 customers at 2 cutoffs: even ids are active labelled buyers, odd ids never bought."""
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.churn_training_set as
        select 'c' || lpad(cast(i as varchar), 2, '0') as customer_id,
               cutoff_date,
               case when i % 2 = 0 then 3 else 0 end as frequency,
               case when i % 2 = 0 then 20 end as recency_days,
               case when i % 2 = 0 then i % 4 = 0 end as churned
        from range(20) as ids(i),
             (values (date '2025-01-01'), (date '2025-02-01')) as cutoffs(cutoff_date)
        """
    )


def _sample(cap: int) -> pd.DataFrame:
    con = duckdb.connect()
    _training_set(con)
    frame = sampled_training_set(DuckDBEngine(con), 365, cap)
    con.close()
    return frame


def test_each_sample_is_capped_per_cutoff_and_churn_draws_only_labelled_active_buyers() -> None:
    frame = _sample(cap=4)
    per_cutoff = frame.groupby("cutoff_date")[[VALUE_SAMPLE, CHURN_SAMPLE]].sum()
    assert per_cutoff[VALUE_SAMPLE].tolist() == [4, 4]
    assert per_cutoff[CHURN_SAMPLE].tolist() == [4, 4]
    churn = frame[frame[CHURN_SAMPLE]]
    assert (churn["frequency"] > 0).all() and churn["churned"].notna().all()
    # The same customers at every cutoff, and the same draw on every run.
    by_cutoff = churn.groupby("cutoff_date")["customer_id"].apply(tuple)
    assert by_cutoff.iloc[0] == by_cutoff.iloc[1]
    assert _sample(cap=4).equals(frame)


def test_a_cap_of_zero_keeps_every_row() -> None:
    frame = _sample(cap=0)
    assert len(frame) == 40 and frame[VALUE_SAMPLE].all()
    assert frame[CHURN_SAMPLE].sum() == 20


def test_the_models_train_on_the_flagged_rows_not_on_a_second_sample() -> None:
    frame = _sample(cap=4)
    config = ChurnConfig(max_rows_per_cutoff=1)  # ignored: the warehouse already sampled
    assert set(churn_rows(frame, config).index) == set(frame.index[frame[CHURN_SAMPLE]])
    assert set(value_rows(frame, 1, seed=0).index) == set(frame.index[frame[VALUE_SAMPLE]])
