"""Prediction building blocks on their own: BG/NBD, metrics, calibration, rules, drivers."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml.prediction.btyd import (
    BgNbdParams,
    expected_purchases,
    fit_bg_nbd,
    probability_alive,
    probability_no_purchase,
    simulate,
)
from ml.prediction.dataset import InsufficientDataError, time_split
from ml.prediction.drivers import churn_drivers
from ml.prediction.fairness import fairness_audit
from ml.prediction.metrics import calibration_table, evaluate, top_decile_lift
from ml.prediction.model import RiskTiers
from ml.prediction.next_purchase import next_purchase
from ml.prediction.scorers import (
    CalibratedScorer,
    Calibrator,
    GradientBoostingScorer,
    RecencyScorer,
)
from ml.prediction.value import twelve_month_value
from tests.support.driver_wording import reads_as_churn_reason

TRUE = BgNbdParams(r=0.5, alpha=5.0, a=1.5, b=3.0)


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate(TRUE, 8000, weeks=52, seed=7)


def test_bg_nbd_recovers_simulated_parameters(simulated: pd.DataFrame) -> None:
    fitted = fit_bg_nbd(simulated)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.15)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.2)
    # a and b trade off against each other; their ratio (mean dropout) is well identified.
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(TRUE.a / (TRUE.a + TRUE.b), rel=0.2)


def test_bg_nbd_expected_purchases_match_the_simulation() -> None:
    fresh = pd.DataFrame({"x": [0.0], "t_x": [0.0], "T": [0.0]})
    observed = simulate(TRUE, 20_000, weeks=26, seed=3)["x"].mean()
    assert expected_purchases(TRUE, fresh, days=26 * 7)[0] == pytest.approx(observed, rel=0.05)


def test_bg_nbd_alive_and_silence_probabilities_behave() -> None:
    summary = pd.DataFrame({"x": [0, 5, 5], "t_x": [0, 50, 10], "T": [52, 52, 52]}, dtype=float)
    alive = probability_alive(TRUE, summary)
    assert alive[0] == 1.0  # no repeat purchase yet: cannot have dropped out
    assert alive[1] > alive[2]  # same purchases, the one silent for 42 weeks is less alive
    silent = probability_no_purchase(TRUE, summary, days=90)
    assert np.all((silent > 0) & (silent < 1))
    assert silent[2] > silent[1]


def test_bg_nbd_features_fit_on_a_capped_hash_sample_whatever_the_row_order(
    simulated: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ml.prediction.btyd_features as btyd_features

    cutoff = pd.Timestamp("2025-01-01")
    weeks = pd.to_timedelta(7, unit="D")
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(len(simulated))],
            "as_of_date": cutoff,
            "frequency": simulated["x"] + 1,
            "first_order_at": cutoff - simulated["T"] * weeks,
            "last_order_at": cutoff - (simulated["T"] - simulated["t_x"]) * weeks,
        }
    )
    everyone = btyd_features.add_btyd_features(frame, 90, "as_of_date")
    monkeypatch.setattr(btyd_features, "FIT_ROWS", 3000)
    capped = btyd_features.add_btyd_features(frame, 90, "as_of_date")
    shuffled = btyd_features.add_btyd_features(
        frame.sample(frac=1, random_state=3), 90, "as_of_date"
    )
    # Every buyer is scored; the fit on 3,000 of 8,000 moves the estimates a little, and the
    # same 3,000 are drawn in any row order.
    assert capped["btyd_p_alive"].notna().all()
    assert not np.allclose(capped["btyd_p_alive"], everyone["btyd_p_alive"])
    assert np.allclose(capped["btyd_p_alive"], everyone["btyd_p_alive"], atol=0.05)
    pd.testing.assert_series_equal(
        shuffled["btyd_p_alive"].sort_index(), capped["btyd_p_alive"].sort_index()
    )


def test_top_decile_lift_and_evaluation() -> None:
    y = np.array([1] * 10 + [0] * 90)
    perfect = np.arange(100)[::-1].astype(float)  # churners score highest
    assert top_decile_lift(y, perfect) == pytest.approx(10.0)
    assert top_decile_lift(y, np.zeros(100)) == pytest.approx(1.0)
    metrics = evaluate(y, perfect, probability=np.where(y == 1, 0.9, 0.1))
    assert metrics["roc_auc"] == pytest.approx(1.0)
    assert metrics["brier"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="both churners and non-churners"):
        evaluate(np.zeros(5), np.zeros(5))


def test_calibration_table_has_ten_deciles() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(int)
    table = calibration_table(y, p)
    assert len(table) == 10
    assert table["customers"].sum() == 1000
    assert np.abs(table["mean_predicted"] - table["observed_rate"]).max() < 0.12


def test_calibrator_maps_scores_to_probabilities() -> None:
    rng = np.random.default_rng(1)
    days = rng.uniform(0, 300, 3000)
    y = (rng.random(3000) < days / 300).astype(int)
    isotonic = Calibrator().fit(days, y)
    assert isotonic.method_ == "isotonic_pchip"
    platt = Calibrator().fit(days[:500], y[:500])
    assert platt.method_ == "platt"
    for calibrator in (isotonic, platt):
        p = calibrator.predict(np.array([10.0, 150.0, 290.0]))
        assert np.all(np.diff(p) >= 0) and np.all((p >= 0) & (p <= 1))
        assert p[2] - p[0] > 0.5


def test_time_split_uses_the_newest_cutoff_for_validation() -> None:
    cutoffs = pd.Series(
        pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]).repeat(3)
    )
    split = time_split(cutoffs)
    assert split.validation == pd.Timestamp("2025-04-01")
    assert split.calibration == pd.Timestamp("2025-03-01")
    assert split.training == (pd.Timestamp("2025-02-01"), pd.Timestamp("2025-01-01"))
    production = split.shifted()
    assert production.calibration == split.validation
    assert split.validation not in split.training
    # Two cutoffs: the older one trains and calibrates (on different customers).
    two = time_split(cutoffs[cutoffs < "2025-02-15"])
    assert two.validation == pd.Timestamp("2025-02-01")
    assert two.calibration == pd.Timestamp("2025-01-01")
    assert two.training == (pd.Timestamp("2025-01-01"),)
    assert two.shifted().training == (pd.Timestamp("2025-01-01"),)
    with pytest.raises(InsufficientDataError, match="at least 2 historical cutoffs"):
        time_split(cutoffs[cutoffs < "2025-01-15"])


def test_next_purchase_and_overdue_rules() -> None:
    as_of = date(2026, 1, 1)
    cases = [
        # last order, median gap, stddev, orders -> expected, note, overdue since, days, flag
        ("2025-12-15 09:00", 30.0, 5.0, 10, date(2026, 1, 14), "on schedule", None, None, False),
        # One day past due: the next cycle (if still active); not yet overdue by a clear margin.
        (
            "2025-12-01 10:00",
            30.0,
            5.0,
            10,
            date(2026, 1, 30),
            "past due",
            date(2025, 12, 31),
            1,
            False,
        ),
        # Far past its rhythm: overdue since the due date, next cycle rolled past the as-of.
        (
            "2025-06-01 00:00",
            30.0,
            5.0,
            10,
            date(2026, 1, 27),
            "past due",
            date(2025, 7, 1),
            184,
            True,
        ),
        ("2025-12-20 00:00", np.nan, np.nan, 1, None, "one order only", None, None, False),
        (
            "2024-10-01 00:00",
            30.0,
            5.0,
            5,
            None,
            "lost: no order in the last 365 days",
            None,
            None,
            False,
        ),
        (None, np.nan, np.nan, 0, None, "no orders yet", None, None, False),
        # Two orders: past due, but too few gaps to call it overdue.
        (
            "2025-09-01 00:00",
            30.0,
            np.nan,
            2,
            date(2026, 1, 29),
            "past due",
            date(2025, 10, 1),
            92,
            False,
        ),
        # Several orders on one day: a cycle is at least a day; today is the earliest date.
        (
            "2025-12-30 00:00",
            0.0,
            0.0,
            3,
            date(2026, 1, 1),
            "past due",
            date(2025, 12, 31),
            1,
            True,
        ),
    ]
    features = pd.DataFrame(
        {
            "as_of_date": [as_of] * len(cases),
            "last_order_at": pd.to_datetime([c[0] for c in cases]),
            "median_days_between_orders": [c[1] for c in cases],
            "stddev_days_between_orders": [c[2] for c in cases],
            "frequency": [c[3] for c in cases],
        }
    )
    result = next_purchase(features, active_window_days=365)
    for (_, _, _, _, expected, note, since, days, flag), (_, row) in zip(
        cases, result.iterrows(), strict=True
    ):
        assert (
            None if pd.isna(row["expected_next_order_date"]) else row["expected_next_order_date"]
        ) == expected, row
        assert row["next_order_note"].startswith(note), row
        assert (None if pd.isna(row["overdue_since"]) else row["overdue_since"]) == since, row
        assert (None if pd.isna(row["days_overdue"]) else int(row["days_overdue"])) == days, row
        assert bool(row["overdue"]) == flag, row


def test_next_purchase_is_never_in_the_past() -> None:
    """On random histories: every expected date is on or after the as-of date, every customer
    without one says why, and every overdue customer shows since when."""
    rng = np.random.default_rng(5)
    n = 3000
    as_of = pd.Timestamp("1998-03-01")  # any era
    frequency = rng.integers(0, 12, n)
    recency = rng.uniform(0, 800, n)
    gap = np.where(frequency >= 2, rng.gamma(1.5, 40, n), np.nan)
    features = pd.DataFrame(
        {
            "as_of_date": as_of.date(),
            "last_order_at": (as_of - pd.to_timedelta(recency, unit="D")).where(frequency > 0),
            "median_days_between_orders": gap,
            "stddev_days_between_orders": gap * rng.uniform(0, 1, n),
            "frequency": frequency,
        }
    )
    result = next_purchase(features)
    dated = result["expected_next_order_date"].dropna()
    assert len(dated) > 1000 and (dated >= as_of.date()).all()
    assert result["next_order_note"].notna().all()
    assert result["expected_next_order_date"].isna().sum() == (
        result["next_order_note"].str.match("one order|lost|no orders").sum()
    )
    overdue = result[result["overdue"]]
    assert len(overdue) > 100 and overdue["overdue_since"].notna().all()
    assert (overdue["days_overdue"] > 0).all()
    past_due = result["overdue_since"].notna()
    assert (result.loc[past_due, "overdue_since"] < as_of.date()).all()


def test_twelve_month_value_compounds_churn_per_period() -> None:
    value = twelve_month_value(np.array([100.0, 100.0, 100.0]), np.array([0.0, 0.5, np.nan]), 90)
    periods = 365 / 90
    assert value[0] == pytest.approx(100 * periods)
    assert value[1] == pytest.approx(100 * (1 + 0.5 + 0.25 + 0.125 + (periods - 4) * 0.0625))
    assert value[2] == pytest.approx(100 * periods)


def test_risk_tiers() -> None:
    tiers = RiskTiers(medium=0.3, high=0.6).tier(
        np.array([0.1, 0.3, 0.6, np.nan, np.nan]), np.array([3, 3, 3, 0, 4])
    )
    assert tiers.tolist() == ["low", "medium", "high", "no_orders", "lost"]


def _toy_churn_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "recency_days": rng.uniform(1, 300, n),
            "median_days_between_orders": rng.uniform(20, 60, n),
            "sessions_30d": rng.poisson(3, n).astype(float),
            "tenure_days": rng.uniform(100, 900, n),
        }
    )
    logit = (
        (frame["recency_days"] / frame["median_days_between_orders"] - 2)
        - 0.5 * frame["sessions_30d"]
        + 1
    )
    frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def test_drivers_name_what_pushes_a_customer_towards_churn() -> None:
    frame = _toy_churn_frame()
    features = ["recency_days", "median_days_between_orders", "sessions_30d", "tenure_days"]
    scorer = GradientBoostingScorer(features).fit(frame, frame["churned"].to_numpy())
    model = CalibratedScorer(
        scorer, Calibrator().fit(scorer.score(frame), frame["churned"].to_numpy())
    )
    typical = frame[features].median()
    risky = pd.DataFrame(
        {
            "recency_days": [280.0],
            "median_days_between_orders": [30.0],
            "sessions_30d": [0.0],
            "tenure_days": [500.0],
        }
    )
    drivers = churn_drivers(model, risky, typical).iloc[0]
    assert drivers["driver_1"] == "no order for 280 days, usually every 30"
    assert drivers["driver_2"] == "no sessions in the last 30 days (typical: 3)"
    # A baseline scorer only has its own feature to point at.
    recency = CalibratedScorer(
        RecencyScorer(),
        Calibrator().fit(frame["recency_days"].to_numpy(), frame["churned"].to_numpy()),
    )
    only = churn_drivers(recency, risky, typical).iloc[0]
    assert only["driver_1"].startswith("no order for 280 days")
    assert pd.isna(only["driver_2"])


def test_a_reassuring_value_is_never_a_driver() -> None:
    """A model can push towards churn for a value that reads as reassuring (here it learned
    that big spenders churn). Spend is then a driver only when the customer's spend fell, and
    says so; a customer who spends well above the typical one gets no spend driver at all."""
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "recency_days": rng.uniform(1, 300, n),
            "median_days_between_orders": rng.uniform(20, 60, n),
            "revenue_last_365d": rng.gamma(1.2, 300, n),
        }
    )
    frame["revenue_last_90d"] = frame["revenue_last_365d"] * rng.uniform(0, 0.5, n)
    logit = frame["recency_days"] / frame["median_days_between_orders"] - 3
    logit += frame["revenue_last_365d"] / 600 - 1
    frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    features = [
        "recency_days",
        "median_days_between_orders",
        "revenue_last_365d",
        "revenue_last_90d",
    ]
    scorer = GradientBoostingScorer(features).fit(frame, frame["churned"].to_numpy())
    model = CalibratedScorer(
        scorer, Calibrator().fit(scorer.score(frame), frame["churned"].to_numpy())
    )
    typical = frame[features].median()
    customers = pd.DataFrame(
        {
            "recency_days": [40.0, 40.0],
            "median_days_between_orders": [30.0, 30.0],
            # Spends far above the typical customer and kept spending / spent, then stopped.
            "revenue_last_365d": [2087.0, 2087.0],
            "revenue_last_90d": [700.0, 0.0],
        }
    )
    # The model does push both towards churn through spend ...
    neutral = customers.assign(revenue_last_365d=typical["revenue_last_365d"])
    neutral["revenue_last_90d"] = typical["revenue_last_90d"]
    assert (scorer.attribution_score(customers) - scorer.attribution_score(neutral) > 0.1).all()
    drivers = churn_drivers(model, customers, typical)
    texts = drivers.to_numpy().ravel()
    # ... but only the one whose spend fell hears about it, in words that say so.
    assert not any("spen" in str(t) for t in drivers.iloc[0])
    assert "spend fell to 0 in the last 90 days from 683 per 90 days before" in set(drivers.iloc[1])
    assert all(reads_as_churn_reason(t) for t in texts if isinstance(t, str))


def test_fairness_audit_flags_a_group_the_model_serves_worse() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    y = rng.integers(0, 2, n)
    country = np.where(np.arange(n) < 200, "XX", "DE")
    # The model ranks DE customers well and XX customers at random.
    p = np.where(country == "XX", rng.random(n), y * 0.5 + rng.random(n) * 0.5)
    audit = fairness_audit(
        pd.DataFrame({"churned_actual": y, "churn_probability": p, "country": country})
    )
    flagged = audit[audit["flagged"]]
    assert flagged["group_value"].tolist() == ["XX"]
    assert "AUC" in flagged["flag_reason"].iloc[0]
