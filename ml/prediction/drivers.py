"""Why is this customer at risk? A per-customer, model-agnostic attribution in plain words.

Features are grouped into concepts a marketer recognises (recency, engagement, e-mail, ...).
For each customer and concept, the concept's features are set to the population's typical
values (medians of the training rows) and the model re-scored: the drop in its score (log-odds
for gradient boosting, so customers near probability 1 still get drivers) is how much that
concept pushes this customer towards churning.

A concept is offered as a reason only when the customer's own value is also on the churn side
(READINGS): more days without an order than the typical customer or than their own usual gap,
spend or orders below the typical customer's or below their own earlier pace, fewer sessions,
more support tickets, ... A tree model can push towards churn for a value that reads as
reassuring ("spent 2,087 in the last year"); such a concept is left out rather than shown as a
reason. The three strongest remaining concepts become driver_1..3, worded with the customer's
numbers and the direction ("spend fell to 120 in the last 90 days from 900 per 90 days
before", "no order for 140 days, usually every 30").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.prediction.scorers import CalibratedScorer, Scorer

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


def _number(values: pd.Series, digits: int = 0) -> pd.Series:
    """Numbers as text, vectorised ('-' for missing)."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    text = numbers.round(digits).map(lambda v: f"{v:,.{digits}f}")
    return text.where(numbers.notna(), "-")


def _typ(typical: pd.Series, column: str, digits: int = 0) -> str:
    value = typical.get(column, np.nan)
    return "-" if pd.isna(value) else f"{float(value):,.{digits}f}"


def _pct(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    return (numbers * 100).round().map("{:.0f}%".format).where(numbers.notna(), "-")


def _typ_pct(typical: pd.Series, column: str) -> str:
    value = typical.get(column, np.nan)
    return "-" if pd.isna(value) else f"{float(value):.0%}"


def _col(rows: pd.DataFrame, column: str) -> pd.Series:
    values = rows[column] if column in rows else pd.Series(np.nan, index=rows.index)
    return pd.to_numeric(values, errors="coerce").astype(float)


def _shown(values: pd.Series | float, percent: bool) -> pd.Series | float:
    """A value as the wording prints it (whole numbers or whole percents): a comparison the
    reader cannot see ("every 37 days (typical: 37)") is not a reason."""
    return np.round(values * 100) if percent else np.round(values)


def _below(rows: pd.DataFrame, typical: pd.Series, column: str, percent: bool = False) -> pd.Series:
    """The customer's value is visibly below the typical one (False when either is missing)."""
    reference = _shown(float(typical.get(column, np.nan)), percent)
    return _shown(_col(rows, column), percent) < reference


def _above(rows: pd.DataFrame, typical: pd.Series, column: str, percent: bool = False) -> pd.Series:
    reference = _shown(float(typical.get(column, np.nan)), percent)
    return _shown(_col(rows, column), percent) > reference


def _counted(count: pd.Series, singular: str, plural: str) -> pd.Series:
    """'1 day' / '3 days', vectorised."""
    return _number(count) + np.where(count.round() == 1, " " + singular, " " + plural)


def _only(count: pd.Series, singular: str, plural: str) -> pd.Series:
    """'no orders' / 'only 1 order' / 'only 3 orders': a count that is too low, in words."""
    number = _number(count)
    text = "only " + number + " " + plural
    text = text.where(count.round() != 1, "only 1 " + singular)
    return text.where(count.round() != 0, "no " + plural)


# The 275 days before the last 90, scaled to 90 days: the customer's own earlier pace.
EARLIER_DAYS = 365 - 90


# "Fell" means a clear drop: the last 90 days at most this share of the earlier pace.
FELL_BELOW = 0.8


def _earlier_pace(rows: pd.DataFrame, kind: str) -> pd.Series:
    return (_col(rows, f"{kind}_last_365d") - _col(rows, f"{kind}_last_90d")) * 90 / EARLIER_DAYS


def _fell(rows: pd.DataFrame, kind: str) -> pd.Series:
    recent, earlier = _col(rows, f"{kind}_last_90d"), _earlier_pace(rows, kind)
    # Orders print the earlier pace with one decimal, revenue in whole units.
    digits = 1 if kind == "orders" else 0
    return (recent < FELL_BELOW * earlier) & (recent.round(digits) < earlier.round(digits))


@dataclass(frozen=True)
class Reading:
    """One way a concept can push a customer towards churn: when it holds (the customer's value
    is on the churn side of the typical customer's, or of their own earlier behaviour) and how
    it is said (the direction in the words)."""

    holds: Callable[[pd.DataFrame, pd.Series], pd.Series]
    wording: Callable[[pd.DataFrame, pd.Series], pd.Series]


def _overdue_on_own_cycle(rows: pd.DataFrame, typical: pd.Series) -> pd.Series:
    return _col(rows, "recency_days").round() > _col(rows, "median_days_between_orders").round()


def _days_since_last_order(rows: pd.DataFrame, typical: pd.Series) -> pd.Series:
    return "no order for " + _counted(_col(rows, "recency_days"), "day", "days")


def _typical_sum(typical: pd.Series, columns: tuple[str, ...], missing: float = 0.0) -> float:
    """Sum of the typical values as printed (whole numbers)."""
    values = [float(typical.get(c, np.nan)) for c in columns]
    return float(sum(missing if np.isnan(v) else np.round(v) for v in values))


# Per concept, its readings in order of preference: a concept is a driver for a customer only
# when the model says it pushes towards churn AND one of its readings holds; the first reading
# that holds words it. Nothing here can say "spent more than typical" as a churn reason.
READINGS: dict[str, tuple[Reading, ...]] = {
    "recency": (
        Reading(
            _overdue_on_own_cycle,
            lambda r, t: (
                _days_since_last_order(r, t)
                + ", usually every "
                + _number(_col(r, "median_days_between_orders"))
            ),
        ),
        Reading(
            lambda r, t: _above(r, t, "recency_days"),
            lambda r, t: (
                _days_since_last_order(r, t) + f" (typical customer: {_typ(t, 'recency_days')})"
            ),
        ),
    ),
    "frequency": (
        Reading(
            lambda r, t: _fell(r, "orders"),
            lambda r, t: (
                _only(_col(r, "orders_last_90d"), "order", "orders")
                + " in the last 90 days, down from "
                + _number(_earlier_pace(r, "orders"), 1)
                + " per 90 days before"
            ),
        ),
        Reading(
            lambda r, t: _below(r, t, "orders_last_365d"),
            lambda r, t: (
                _only(_col(r, "orders_last_365d"), "order", "orders")
                + f" in the last year (typical: {_typ(t, 'orders_last_365d')})"
            ),
        ),
    ),
    "spend": (
        Reading(
            lambda r, t: _fell(r, "revenue"),
            lambda r, t: (
                "spend fell to "
                + _number(_col(r, "revenue_last_90d"))
                + " in the last 90 days from "
                + _number(_earlier_pace(r, "revenue"))
                + " per 90 days before"
            ),
        ),
        Reading(
            lambda r, t: _below(r, t, "revenue_last_365d"),
            lambda r, t: (
                "spent only "
                + _number(_col(r, "revenue_last_365d"))
                + f" in the last year (typical: {_typ(t, 'revenue_last_365d')})"
            ),
        ),
    ),
    "cadence": (
        Reading(
            lambda r, t: _above(r, t, "median_days_between_orders"),
            lambda r, t: (
                "orders only every "
                + _number(_col(r, "median_days_between_orders"))
                + f" days (typical: {_typ(t, 'median_days_between_orders')})"
            ),
        ),
        Reading(
            lambda r, t: (_col(r, "frequency") <= 1) & _below(r, t, "frequency"),
            lambda r, t: pd.Series(
                f"no repeat order yet (typical customer: {_typ(t, 'frequency')} orders)",
                index=r.index,
            ),
        ),
    ),
    "tenure": (
        Reading(
            lambda r, t: _below(r, t, "tenure_days"),
            lambda r, t: (
                "customer for only "
                + _number(_col(r, "tenure_days"))
                + f" days (typical: {_typ(t, 'tenure_days')})"
            ),
        ),
    ),
    "engagement": (
        Reading(
            lambda r, t: _above(r, t, "days_since_last_activity"),
            lambda r, t: (
                "no site visit for "
                + _number(_col(r, "days_since_last_activity"))
                + f" days (typical: {_typ(t, 'days_since_last_activity')})"
            ),
        ),
        Reading(
            lambda r, t: _below(r, t, "sessions_30d"),
            lambda r, t: (
                _only(_col(r, "sessions_30d"), "session", "sessions")
                + f" in the last 30 days (typical: {_typ(t, 'sessions_30d')})"
            ),
        ),
    ),
    "activity_trend": (
        Reading(
            lambda r, t: (
                (_shown(_col(r, "activity_trend_30d"), True) < 0)
                & ~_above(r, t, "activity_trend_30d", percent=True)
            ),
            lambda r, t: (
                "site activity down "
                + _pct(-_col(r, "activity_trend_30d"))
                + " on the previous 30 days"
            ),
        ),
    ),
    "email": (
        Reading(
            lambda r, t: _below(r, t, "email_open_rate_90d", percent=True),
            lambda r, t: (
                ("opened only " + _pct(_col(r, "email_open_rate_90d")) + " of e-mails").where(
                    _col(r, "email_open_rate_90d") > 0, "opened no e-mails"
                )
                + f" in 90 days (typical: {_typ_pct(t, 'email_open_rate_90d')})"
            ),
        ),
    ),
    "support": (
        Reading(
            lambda r, t: _above(r, t, "support_tickets_90d"),
            lambda r, t: (
                _counted(_col(r, "support_tickets_90d"), "support ticket", "support tickets")
                + f" in 90 days (typical: {_typ(t, 'support_tickets_90d')})"
            ),
        ),
    ),
    "carts": (
        Reading(
            lambda r, t: _above(r, t, "cart_abandonment_rate_90d", percent=True),
            lambda r, t: (
                "abandoned "
                + _pct(_col(r, "cart_abandonment_rate_90d"))
                + " of carts in 90 days (typical: "
                + _typ_pct(t, "cart_abandonment_rate_90d")
                + ")"
            ),
        ),
    ),
    "returns": (
        Reading(
            lambda r, t: (
                _col(r, "cancelled_orders").fillna(0) + _col(r, "refunded_orders").fillna(0)
                > _typical_sum(t, ("cancelled_orders", "refunded_orders"))
            ),
            lambda r, t: (
                _number(_col(r, "cancelled_orders").fillna(0))
                + " cancelled and "
                + _number(_col(r, "refunded_orders").fillna(0))
                + " refunded orders (typical: "
                + _typ(t, "cancelled_orders")
                + " and "
                + _typ(t, "refunded_orders")
                + ")"
            ),
        ),
    ),
    "rfm": (
        Reading(
            lambda r, t: (
                _col(r, "r_score") + _col(r, "f_score") + _col(r, "m_score")
                < _typical_sum(t, ("r_score", "f_score", "m_score"), missing=np.nan)
            ),
            lambda r, t: (
                "low RFM scores "
                + _number(_col(r, "r_score"))
                + "/"
                + _number(_col(r, "f_score"))
                + "/"
                + _number(_col(r, "m_score"))
                + f" (typical: {_typ(t, 'r_score')}/{_typ(t, 'f_score')}/{_typ(t, 'm_score')})"
            ),
        ),
    ),
}


def on_churn_side(concept: str, rows: pd.DataFrame, typical: pd.Series) -> np.ndarray:
    """Rows whose value of the concept could be a churn reason (some reading holds)."""
    holds = np.zeros(len(rows), dtype=bool)
    for reading in READINGS[concept]:
        holds |= reading.holds(rows, typical).fillna(False).to_numpy(dtype=bool)
    return holds


def wording(concept: str, rows: pd.DataFrame, typical: pd.Series) -> pd.Series:
    """The concept's reason in words, from the first reading that holds (None if none does)."""
    text = pd.Series(None, index=rows.index, dtype=object)
    left = pd.Series(True, index=rows.index)
    for reading in READINGS[concept]:
        holds = reading.holds(rows, typical).fillna(False).astype(bool) & left
        if holds.any():
            text[holds] = reading.wording(rows[holds], typical).to_numpy()
            left &= ~holds
    return text


def typical_values(training_rows: pd.DataFrame, features: list[str]) -> pd.Series:
    columns = [
        c for c in {*features, *[c for cs in CONCEPTS.values() for c in cs]} if c in training_rows
    ]
    return training_rows[columns].median(numeric_only=True)


# Rows per stacked prediction of perturbed copies (a block of one concept is never split): keeps
# the stacked matrix (rows x features x 8 bytes) near 100 MB however many customers are at risk.
BATCH_ROWS = 200_000


def concept_effects(
    scorer: Scorer, frame: pd.DataFrame, typical: pd.Series
) -> dict[str, np.ndarray]:
    """Per concept, how much it pushes each row towards churning: the drop in the attribution
    score when the concept's features take their typical values; -inf where no reading of the
    concept holds (it cannot be offered as a reason, so it is not scored at all).

    All perturbed copies are stacked and scored in as few predictions as BATCH_ROWS allows:
    one model call instead of one per concept, and only the rows that can use the result. A
    row's score does not depend on the other rows in the batch, so the numbers are those of
    re-scoring each concept separately."""
    features = list(scorer.features)
    position = {column: i for i, column in enumerate(features)}
    matrix = frame[features].to_numpy(dtype=float)
    blocks: list[tuple[str | None, np.ndarray, np.ndarray]] = [
        (None, np.arange(len(frame)), matrix)  # the unperturbed score, for every row
    ]
    effects: dict[str, np.ndarray] = {}
    for concept, columns in CONCEPTS.items():
        replaced = [c for c in columns if c in position and c in typical.index]
        if not replaced:
            continue
        # The model may push towards churn for a value that reads as reassuring (a big spender
        # who stopped: replacing every spend feature moves the score either way); such a
        # concept is not offered as a reason unless one of its readings holds.
        effects[concept] = np.full(len(frame), -np.inf)
        rows = np.flatnonzero(on_churn_side(concept, frame, typical))
        if len(rows):
            neutral = matrix[rows]
            neutral[:, [position[c] for c in replaced]] = typical[replaced].to_numpy(float)
            blocks.append((concept, rows, neutral))
    scores = _score_in_batches(scorer, features, [block for _, _, block in blocks])
    base = scores[0]
    for (concept, rows, _), score in zip(blocks[1:], scores[1:], strict=True):
        effects[concept][rows] = base[rows] - score
    return effects


def _score_in_batches(
    scorer: Scorer, features: list[str], blocks: list[np.ndarray]
) -> list[np.ndarray]:
    """attribution_score of each block, stacked into predictions of about BATCH_ROWS rows."""
    scores: list[np.ndarray] = []
    pending: list[np.ndarray] = []

    def flush() -> None:
        if pending:
            stacked = pd.DataFrame(np.vstack(pending), columns=features)
            # A model refuses to predict zero rows.
            result = (
                np.asarray(scorer.attribution_score(stacked), dtype=float)
                if len(stacked)
                else np.empty(0)
            )
            ends = np.cumsum([len(block) for block in pending])[:-1]
            scores.extend(np.split(result, ends))
            pending.clear()

    for block in blocks:
        if pending and sum(map(len, pending)) + len(block) > BATCH_ROWS:
            flush()
        pending.append(block)
    flush()
    return scores


def churn_drivers(
    model: CalibratedScorer,
    frame: pd.DataFrame,
    typical: pd.Series,
    top: int = 3,
) -> pd.DataFrame:
    """driver_1..driver_{top}: the strongest concepts in words (null below MIN_EFFECT)."""
    effects = concept_effects(model.scorer, frame, typical)
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
                    column[rows] = wording(concept, frame[rows], typical).to_numpy()
        out[f"driver_{i + 1}"] = column
    return out
