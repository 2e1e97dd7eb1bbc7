"""The whole pipeline on orders-only data simulated from a Pareto/NBD process: the published
churn score ranks the held-out horizon at least as well as Pareto/NBD fitted on the same
history, and the probabilities keep that ranking."""

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from demo_data.btyd import generate_btyd, write_btyd
from ml.prediction.btyd_features import add_btyd_features
from tests.refresh import refresh

HORIZON = 90


def test_published_churn_score_keeps_up_with_pareto_nbd_on_btyd_data(tmp_path: Path) -> None:
    data = generate_btyd(1500, seed=5)
    written = write_btyd(data, tmp_path / "landing", tmp_path / "truth")
    as_of = data.end + timedelta(days=1) - timedelta(days=HORIZON)
    run = refresh(written.landing_dir, tmp_path / "w.duckdb", as_of=as_of.isoformat())

    scores = run.query("select customer_id, churn_probability from ml.churn_scores")
    features = run.query("select * from marts.customer_features")
    orders = pd.read_csv(written.landing_dir / "orders.csv", parse_dates=["ordered_at"])
    start = pd.Timestamp(as_of)
    held_out = orders[
        (orders["ordered_at"] >= start) & (orders["ordered_at"] < start + pd.Timedelta(days=90))
    ]
    scored = scores.dropna(subset=["churn_probability"]).merge(features, on="customer_id")
    churned = ~scored["customer_id"].isin(held_out["customer_id"])
    published = roc_auc_score(churned, scored["churn_probability"])
    pnbd = add_btyd_features(scored, HORIZON, "as_of_date")["pnbd_p_no_purchase"]
    assert published >= roc_auc_score(churned, pnbd) - 0.01
    assert published > roc_auc_score(churned, scored["recency_days"])

    p = scored["churn_probability"].to_numpy()
    assert pd.Series(p).nunique() >= 0.95 * len(p)
    assert np.all((p > 0) & (p < 1))
    value = run.query("select predictor, selected from ml.value_model_metrics")
    assert {"bg_nbd_gamma_gamma", "pareto_nbd_gamma_gamma"} <= set(value["predictor"])
    assert value["selected"].sum() == 1
    metrics = run.query("select scorer, roc_auc, ece from ml.churn_model_metrics")
    assert {"pareto_nbd", "bg_nbd", "gradient_boosting"} <= set(metrics["scorer"])
    assert metrics["ece"].notna().all()
