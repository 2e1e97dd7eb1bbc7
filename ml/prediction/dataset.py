"""Which mart columns the prediction models use, and the time-based split of training rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ORDER_FEATURES = (
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "tenure_days",
    "avg_days_between_orders",
    "median_days_between_orders",
    "stddev_days_between_orders",
    "recency_vs_usual_gap",
    "orders_last_30d",
    "orders_last_90d",
    "orders_last_365d",
    "revenue_last_30d",
    "revenue_last_90d",
    "revenue_last_365d",
    "cancelled_orders",
    "refunded_orders",
)
ENGAGEMENT_FEATURES = (
    "sessions_30d",
    "sessions_90d",
    "events_30d",
    "events_prev_30d",
    "days_since_last_activity",
    "active_days",
    "active_days_90d",
    "cart_abandonment_rate_90d",
    "email_open_rate_90d",
    "email_click_rate_90d",
    "support_tickets_90d",
    "activity_trend_30d",
    "login_30d",
    "login_90d",
    "product_view_30d",
    "add_to_cart_30d",
    "email_open_30d",
)
# Added per cutoff from BG/NBD and Pareto/NBD fits on the history before it (no labels).
BTYD_FEATURES = (
    "btyd_p_alive",
    "btyd_expected_orders",
    "pnbd_p_alive",
    "pnbd_expected_orders",
    "pnbd_p_no_purchase",
)


def model_features(frame: pd.DataFrame, with_btyd: bool = True) -> list[str]:
    """Order features always; engagement features only when the data has events."""
    columns = list(ORDER_FEATURES)
    has_events = "events_available" in frame.columns and bool(
        frame["events_available"].fillna(False).any()
    )
    if has_events:
        columns += [c for c in ENGAGEMENT_FEATURES if c in frame.columns]
    if with_btyd:
        columns += list(BTYD_FEATURES)
    return columns


@dataclass(frozen=True)
class TimeSplit:
    """Cutoffs, newest first: validation (never trained on), calibration, then training."""

    validation: pd.Timestamp
    calibration: pd.Timestamp
    training: tuple[pd.Timestamp, ...]

    def describe(self) -> str:
        train = ", ".join(str(c.date()) for c in self.training)
        shared = " (customers held out)" if self.calibration in self.training else ""
        return (
            f"train on cutoffs {train}; calibrate on {self.calibration.date()}{shared}; "
            f"validate on {self.validation.date()}"
        )

    def shifted(self) -> TimeSplit:
        """The production recipe: the same shape one cutoff newer (calibrate on the newest)."""
        training = tuple(dict.fromkeys((self.calibration, *self.training)))
        return TimeSplit(validation=self.validation, calibration=self.validation, training=training)


class InsufficientDataError(ValueError):
    """Too few labelled rows to train or validate; the message says what is missing."""


def time_split(cutoffs: pd.Series) -> TimeSplit:
    """Newest cutoff validates, the next calibrates, the rest train. With two cutoffs the older
    one both trains and calibrates (on different customers: see churn._fit_recipe)."""
    ordered = sorted(pd.to_datetime(cutoffs.unique()), reverse=True)
    if len(ordered) < 2:
        raise InsufficientDataError(
            f"need at least 2 historical cutoffs with complete label windows, found "
            f"{len(ordered)}: the as-of date is too close to the start of the order history "
            "(or lower cutoff_spacing_days / the churn horizon)."
        )
    if len(ordered) == 2:
        return TimeSplit(ordered[0], ordered[1], (ordered[1],))
    return TimeSplit(ordered[0], ordered[1], tuple(ordered[2:]))


# Optional boolean columns of a training set sampled before it was loaded (the warehouse draws
# the samples, so a large customer base is never read whole): rows in a uniform sample of all
# customers per cutoff (value model, BG/NBD fits) and in a sample of the labelled active
# buyers per cutoff (churn model). Without them the samples are drawn here.
VALUE_SAMPLE = "in_value_sample"
CHURN_SAMPLE = "in_churn_sample"


def presampled(frame: pd.DataFrame, column: str) -> pd.DataFrame | None:
    """The rows flagged by `column`, or None when the frame was not sampled upstream."""
    if column not in frame.columns:
        return None
    return frame[frame[column].fillna(False).astype(bool)]


def limit_rows_per_cutoff(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """Keep at most `max_rows` random rows per cutoff (deterministic), for very large bases."""
    if max_rows <= 0:
        return frame
    parts = []
    for _, group in frame.groupby("cutoff_date", sort=True):
        parts.append(group if len(group) <= max_rows else group.sample(max_rows, random_state=seed))
    return pd.concat(parts).sort_index()


def as_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return frame[columns].to_numpy(dtype=float)
