"""Pareto/NBD, Gamma-Gamma, rank-keeping calibration and the short-history fallback, checked on
data simulated from a known BTYD process (no pipeline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from demo_data.btyd import generate_btyd
from ml.prediction.btyd_features import add_btyd_features
from ml.prediction.pareto_nbd import (
    GammaGammaParams,
    ParetoNbdParams,
    expected_purchases,
    expected_spend,
    fit_gamma_gamma,
    fit_pareto_nbd,
    log_likelihood,
    probability_alive,
    probability_no_purchase,
    simulate,
)
from ml.prediction.scorers import EPS, Calibrator
from ml.prediction.training import train_prediction

TRUE = ParetoNbdParams(r=0.55, alpha=10.58, s=0.61, beta=11.67)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return simulate(TRUE, 10_000, weeks=52, seed=3)


def _xyz(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(frame[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))


def test_pareto_nbd_recovers_simulated_parameters(customers: pd.DataFrame) -> None:
    fitted = fit_pareto_nbd(customers)
    # The fit is at least as likely as the truth, and the identified quantities come back:
    # the purchase-rate distribution closely, the dropout process through P(alive).
    assert log_likelihood(fitted, *_xyz(customers)).sum() >= (
        log_likelihood(TRUE, *_xyz(customers)).sum() - 1e-6
    )
    assert fitted.r == pytest.approx(TRUE.r, rel=0.2)
    assert fitted.r / fitted.alpha == pytest.approx(TRUE.r / TRUE.alpha, rel=0.1)
    alive = (customers["death"] > 52).to_numpy()
    p_alive = probability_alive(fitted, customers)
    assert p_alive.mean() == pytest.approx(alive.mean(), abs=0.03)
    oracle = roc_auc_score(alive, probability_alive(TRUE, customers))
    assert roc_auc_score(alive, p_alive) > oracle - 0.005


def test_pareto_nbd_forecasts_match_a_continued_simulation() -> None:
    rng = np.random.default_rng(11)
    n, weeks, ahead = 40_000, 40.0, 13.0
    lam = rng.gamma(TRUE.r, 1 / TRUE.alpha, n)
    death = rng.exponential(1.0, n) / rng.gamma(TRUE.s, 1 / TRUE.beta, n)
    past = rng.poisson(lam * np.minimum(death, weeks))
    life_past = np.minimum(death, weeks)
    t_x = np.where(past > 0, life_past * rng.uniform(0, 1, n) ** (1 / np.maximum(past, 1)), 0)
    future = rng.poisson(lam * np.clip(np.minimum(death, weeks + ahead) - weeks, 0, None))
    summary = pd.DataFrame({"x": past.astype(float), "t_x": t_x, "T": weeks})
    expected = expected_purchases(TRUE, summary, ahead * 7)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.05)
    silent = probability_no_purchase(TRUE, summary, ahead * 7)
    assert silent.mean() == pytest.approx((future == 0).mean(), abs=0.01)
    assert np.all((silent > 0) & (silent <= 1))
    # More recent buyers are more likely to buy again.
    assert roc_auc_score(future == 0, silent) > 0.75


def test_gamma_gamma_recovers_spend_and_shrinks_towards_the_population() -> None:
    true = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    rng = np.random.default_rng(5)
    n = 20_000
    orders = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(true.q, 1 / true.gamma, n)
    mean_spend = rng.gamma(true.p * orders, 1 / (nu * orders))
    fitted = fit_gamma_gamma(orders, mean_spend)
    population = true.p * true.gamma / (true.q - 1)
    assert fitted.p * fitted.gamma / (fitted.q - 1) == pytest.approx(population, rel=0.05)
    # The conditional expectation predicts the customer's true mean (p / nu) better than the
    # customer's own average does.
    predicted = expected_spend(fitted, orders, mean_spend)
    truth = true.p / nu
    assert np.mean(np.abs(predicted - truth)) < np.mean(np.abs(mean_spend - truth))


def _snapshot(orders: pd.DataFrame, start: pd.Timestamp, week: float) -> pd.DataFrame:
    """Per customer acquired before `week`: the order features BTYD needs at that cutoff."""
    seen = orders[orders["week"] < week]
    stats = seen.groupby("customer_idx").agg(
        frequency=("week", "size"),
        first=("week", "min"),
        last=("week", "max"),
        monetary_total=("amount", "sum"),
    )
    cutoff = start + pd.Timedelta(weeks=week)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in stats.index],
            "as_of_date": cutoff,
            "frequency": stats["frequency"].to_numpy(),
            "first_order_at": start + pd.to_timedelta(stats["first"].to_numpy() * 7, unit="D"),
            "last_order_at": start + pd.to_timedelta(stats["last"].to_numpy() * 7, unit="D"),
            "monetary_total": stats["monetary_total"].to_numpy(),
        },
        index=stats.index,
    )


def test_btyd_value_adds_up_on_simulated_btyd_customers() -> None:
    data = generate_btyd(6000, seed=8)
    start = pd.Timestamp(data.start)
    cutoff_week, horizon_weeks = 52.0, 13.0
    frame = add_btyd_features(_snapshot(data.orders, start, cutoff_week), 91, "as_of_date")
    window = data.orders[
        (data.orders["week"] >= cutoff_week) & (data.orders["week"] < cutoff_week + horizon_weeks)
    ]
    actual = window.groupby("customer_idx")["amount"].sum().reindex(frame.index, fill_value=0)
    predicted = frame["pnbd_expected_orders"] * frame["gg_expected_spend"]
    assert predicted.sum() == pytest.approx(actual.sum(), rel=0.10)
    # Pareto/NBD ranks who stays as well as the truth it was simulated from (within noise).
    silent = ~frame.index.isin(window["customer_idx"])
    oracle = probability_no_purchase(
        ParetoNbdParams(data.params.r, data.params.alpha, data.params.s, data.params.beta),
        _summary(frame),
        91,
    )
    assert roc_auc_score(silent, frame["pnbd_p_no_purchase"]) > roc_auc_score(silent, oracle) - 0.01


def _summary(frame: pd.DataFrame) -> pd.DataFrame:
    from ml.prediction.btyd import summary_from_snapshot

    return summary_from_snapshot(frame)


def test_calibration_keeps_the_ranking_without_plateaus_or_certainties() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    latent = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * latent - 0.5)))).astype(int)
    # A probability-like score with a distorted scale, and one with extreme values.
    for score in (1 / (1 + np.exp(-latent / 3)), np.r_[latent[:-2] * 4, -1e6, 1e6]):
        calibrator = Calibrator().fit(score[:3000], y[:3000])
        p = calibrator.predict(score[3000:])
        assert pd.Series(p).nunique() >= 0.95 * len(p)
        assert p.min() >= EPS and p.max() <= 1 - EPS
        assert not np.any((p == 0) | (p == 1))
        raw_auc = roc_auc_score(y[3000:], score[3000:])
        assert abs(roc_auc_score(y[3000:], p) - raw_auc) <= 0.002
        # Calibrated: the decile means track the observed rates.
        deciles = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False)
        table = pd.DataFrame({"p": p, "y": y[3000:], "d": deciles}).groupby("d").mean()
        assert (table["p"] - table["y"]).abs().max() < 0.08


def _training_set(data, cutoff_weeks: list[float], horizon_weeks: float) -> pd.DataFrame:
    """churn_training_set-like rows (order features and labels) from a simulated history."""
    start = pd.Timestamp(data.start)
    parts = []
    for week in cutoff_weeks:
        snap = _snapshot(data.orders, start, week)
        cutoff = snap["as_of_date"].iloc[0]
        snap = snap.rename(columns={"as_of_date": "cutoff_date"})
        snap["recency_days"] = (cutoff - snap["last_order_at"]).dt.days
        snap["tenure_days"] = (cutoff - snap["first_order_at"]).dt.days
        snap["avg_order_value"] = snap["monetary_total"] / snap["frequency"]
        gaps = (snap["tenure_days"] - snap["recency_days"]) / (snap["frequency"] - 1)
        snap["avg_days_between_orders"] = gaps.where(snap["frequency"] > 1)
        snap["median_days_between_orders"] = snap["avg_days_between_orders"]
        snap["stddev_days_between_orders"] = np.nan
        snap["recency_vs_usual_gap"] = snap["recency_days"] / snap["avg_days_between_orders"]
        for days in (30, 90, 365):
            recent = data.orders[
                (data.orders["week"] < week) & (data.orders["week"] >= week - days / 7)
            ].groupby("customer_idx")["amount"]
            snap[f"orders_last_{days}d"] = recent.size().reindex(snap.index, fill_value=0)
            snap[f"revenue_last_{days}d"] = recent.sum().reindex(snap.index, fill_value=0.0)
        for score, column in (("r_score", "recency_days"), ("f_score", "frequency")):
            rank = snap[column].rank(method="first", ascending=column != "recency_days")
            snap[score] = pd.qcut(rank, 5, labels=False) + 1
        snap["m_score"] = pd.qcut(snap["monetary_total"].rank(method="first"), 5, labels=False) + 1
        snap["cancelled_orders"] = 0
        snap["refunded_orders"] = 0
        future = data.orders[
            (data.orders["week"] >= week) & (data.orders["week"] < week + horizon_weeks)
        ].groupby("customer_idx")["amount"]
        snap["future_orders"] = future.size().reindex(snap.index, fill_value=0)
        snap["future_revenue"] = future.sum().reindex(snap.index, fill_value=0.0)
        snap["churned"] = snap["future_orders"] == 0
        parts.append(snap)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def cohort():
    return generate_btyd(2500, seed=21, cohorts="many")


def test_two_cutoffs_train_and_validate(cohort) -> None:
    rows = _training_set(cohort, [48.0, 56.0], 8.0)
    result = train_prediction(rows, 56, scoring_tenure=np.full(100, 300.0))
    assert not result.churn.fallback
    assert result.churn.split.calibration in result.churn.split.training
    assert "customers held out" in result.churn.split.describe()
    assert result.selected_auc > 0.6
    assert "tenure mix" in result.churn.selection_note


def test_one_cutoff_falls_back_to_pareto_nbd_with_a_note(cohort) -> None:
    rows = _training_set(cohort, [56.0], 8.0)
    result = train_prediction(rows, 56)
    assert result.churn.fallback and result.churn.selected == "pareto_nbd"
    assert result.churn.selection_note.startswith("fallback: need at least 2 historical cutoffs")
    features = _training_set(cohort, [70.0], 8.0).rename(columns={"cutoff_date": "as_of_date"})
    scores = result.model.score(features)
    scored = scores["churn_probability"].dropna()
    assert len(scored) > 0.5 * len(features)
    assert scored.between(EPS, 1 - EPS).all() and scored.nunique() >= 0.95 * len(scored)
    assert (scores["predicted_revenue"] > 0).mean() > 0.5
