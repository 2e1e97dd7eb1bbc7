"""Why is this customer at risk? A per-customer, model-agnostic attribution in plain words.

Features are grouped into concepts a marketer recognises (recency, engagement, e-mail, ...).
For each customer and concept, the concept's features are set to the population's typical
values (medians of the training rows) and the model re-scored: the drop in its score (log-odds
for gradient boosting, so customers near probability 1 still get drivers) is how much that
concept pushes this customer towards churning. The three concepts with the largest positive
effect become driver_1..3, worded with the customer's own numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ml.prediction.scorers import CalibratedScorer

MIN_EFFECT = 0.02  # a concept moving the score less than this is not a driver

CONCEPTS: dict[str, tuple[str, ...]] = {
    "recency": (
        "recency_days",
        "recency_vs_usual_gap",
        "btyd_p_alive",
        "btyd_expected_orders",
        "btyd_p_no_purchase",
        "pnbd_p_alive",
        "pnbd_expected_orders",
        "pnbd_p_no_purchase",
    ),
    "frequency": ("frequency", "orders_last_30d", "orders_last_90d", "orders_last_365d"),
    "spend": (
        "monetary_total",
        "avg_order_value",
        "revenue_last_30d",
        "revenue_last_90d",
        "revenue_last_365d",
    ),
    "cadence": (
        "avg_days_between_orders",
        "median_days_between_orders",
        "stddev_days_between_orders",
    ),
    "tenure": ("tenure_days",),
    "engagement": (
        "sessions_30d",
        "sessions_90d",
        "events_30d",
        "events_prev_30d",
        "active_days",
        "active_days_90d",
        "login_30d",
        "login_90d",
        "product_view_30d",
        "add_to_cart_30d",
        "days_since_last_activity",
    ),
    "activity_trend": ("activity_trend_30d",),
    "email": ("email_open_rate_90d", "email_click_rate_90d", "email_open_30d"),
    "support": ("support_tickets_90d",),
    "carts": ("cart_abandonment_rate_90d",),
    "returns": ("cancelled_orders", "refunded_orders"),
    "rfm": ("r_score", "f_score", "m_score"),
}


def _n(values: pd.Series, digits: int = 0) -> pd.Series:
    """Numbers as text, vectorised ('-' for missing)."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    text = numbers.round(digits).map(lambda v: f"{v:,.{digits}f}")
    return text.where(numbers.notna(), "-")


def _t(typical: pd.Series, column: str, digits: int = 0) -> str:
    value = typical.get(column, np.nan)
    return "-" if pd.isna(value) else f"{float(value):,.{digits}f}"


def _pct(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    return (numbers * 100).round().map("{:.0f}%".format).where(numbers.notna(), "-")


def _col(rows: pd.DataFrame, column: str) -> pd.Series:
    return rows[column] if column in rows else pd.Series(np.nan, index=rows.index)


def _recency(rows: pd.DataFrame, typical: pd.Series) -> pd.Series:
    text = "no order for " + _n(rows["recency_days"]) + " days"
    usual = _col(rows, "median_days_between_orders")
    with_cycle = text + ", usually every " + _n(usual)
    without = text + f" (typical customer: {_t(typical, 'recency_days')})"
    return with_cycle.where(usual.notna(), without)


def _trend(rows: pd.DataFrame, typical: pd.Series) -> pd.Series:
    trend = rows["activity_trend_30d"].astype(float)
    down = "site activity down " + _pct(-trend) + " on the previous 30 days"
    other = "site activity " + _pct(trend) + " on the previous 30 days"
    return down.where(trend < 0, other)


def _email(rows: pd.DataFrame, typical: pd.Series) -> pd.Series:
    rate = _col(rows, "email_open_rate_90d")
    typical_rate = typical.get("email_open_rate_90d", np.nan)
    typical_text = "-" if pd.isna(typical_rate) else f"{float(typical_rate):.0%}"
    text = "opened " + _pct(rate) + f" of e-mails in 90 days (typical: {typical_text})"
    return text.where(rate.notna(), "no e-mail engagement recorded")


def _cadence(rows: pd.DataFrame, typical: pd.Series) -> pd.Series:
    usual = _col(rows, "median_days_between_orders")
    text = (
        "orders every "
        + _n(usual)
        + f" days (typical: {_t(typical, 'median_days_between_orders')})"
    )
    return text.where(usual.notna(), "no repeat order yet")


# Each concept's wording, vectorised over the rows it is a driver for.
WORDING: dict[str, Callable[[pd.DataFrame, pd.Series], pd.Series]] = {
    "recency": _recency,
    "frequency": lambda r, t: (
        _n(_col(r, "orders_last_365d"))
        + f" orders in the last year (typical: {_t(t, 'orders_last_365d')})"
    ),
    "spend": lambda r, t: (
        "spent "
        + _n(_col(r, "revenue_last_365d"))
        + f" in the last year (typical: {_t(t, 'revenue_last_365d')})"
    ),
    "cadence": _cadence,
    "tenure": lambda r, t: "customer for " + _n(r["tenure_days"]) + " days",
    "engagement": lambda r, t: (
        _n(_col(r, "sessions_30d"))
        + f" sessions in the last 30 days (typical: {_t(t, 'sessions_30d')})"
    ),
    "activity_trend": _trend,
    "email": _email,
    "support": lambda r, t: _n(r["support_tickets_90d"]) + " support tickets in 90 days",
    "carts": lambda r, t: (
        "abandoned " + _pct(r["cart_abandonment_rate_90d"]) + " of carts in 90 days"
    ),
    "returns": lambda r, t: (
        _n(r["cancelled_orders"])
        + " cancelled and "
        + _n(r["refunded_orders"])
        + " refunded orders"
    ),
    "rfm": lambda r, t: (
        "RFM scores "
        + _n(_col(r, "r_score"))
        + "/"
        + _n(_col(r, "f_score"))
        + "/"
        + _n(_col(r, "m_score"))
    ),
}


def typical_values(training_rows: pd.DataFrame, features: list[str]) -> pd.Series:
    columns = [
        c for c in {*features, *[c for cs in CONCEPTS.values() for c in cs]} if c in training_rows
    ]
    return training_rows[columns].median(numeric_only=True)


def churn_drivers(
    model: CalibratedScorer,
    frame: pd.DataFrame,
    typical: pd.Series,
    top: int = 3,
) -> pd.DataFrame:
    """driver_1..driver_{top}: the strongest concepts in words (null below MIN_EFFECT)."""
    scorer = model.scorer
    used = set(scorer.features)
    base = scorer.attribution_score(frame)
    effects = {}
    for concept, columns in CONCEPTS.items():
        replaced = [c for c in columns if c in used and c in typical.index]
        if not replaced:
            continue
        neutral = frame.copy()
        for column in replaced:
            neutral[column] = typical[column]
        effects[concept] = base - scorer.attribution_score(neutral)
    out = pd.DataFrame(index=frame.index)
    if not effects:
        for i in range(1, top + 1):
            out[f"driver_{i}"] = None
        return out
    names = list(effects)
    matrix = np.column_stack([effects[n] for n in names])
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :top]
    strength = np.take_along_axis(matrix, order, axis=1)
    for i in range(top):
        column = pd.Series(None, index=frame.index, dtype=object)
        if i < order.shape[1]:
            for concept_index, concept in enumerate(names):
                rows = (order[:, i] == concept_index) & (strength[:, i] >= MIN_EFFECT)
                if rows.any():
                    column[rows] = WORDING[concept](frame[rows], typical).to_numpy()
        out[f"driver_{i + 1}"] = column
    return out
