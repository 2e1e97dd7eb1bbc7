"""When will each customer order next, judged by their own rhythm, and are they overdue?

The rule (README "Churn, value and next purchase"), per customer as of the as-of date:

- The customer's rhythm is the median gap between their orders (2+ orders). Customers without
  one get no date and say why in `next_order_note`: 'no orders yet', 'one order only: no
  rhythm yet', or 'lost: no order in the last N days' (buyers past the active window, the
  risk tier `lost`: their next order is not expected at all).
- `due` = last order + the usual gap. If it is today or later, that is the expected date
  ('on schedule').
- If it has passed, the customer is past due: `overdue_since` = the due date and
  `days_overdue` = days since it. Their expected date is the next date on their own cycle
  that is not in the past: last order + the smallest whole number of usual gaps reaching the
  as-of date ('past due: next cycle if still active'). That is the answer *conditional on
  the customer still buying*; how likely that is, is the churn probability next to it.
- `overdue` (the overdue-replenishment audience) marks customers past due by a clear margin:
  with 3+ orders (so the gaps mean something), days since the last order above the usual gap
  + max(2 x standard deviation, half the usual gap). Every `overdue` customer has
  `overdue_since`; a customer a few days past due is not yet `overdue`.

No expected date is ever before the as-of date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_ORDERS_FOR_OVERDUE = 3

NO_ORDERS = "no orders yet"
ONE_ORDER = "one order only: no rhythm yet"
ON_SCHEDULE = "on schedule"
PAST_DUE = "past due: next cycle if still active"


def lost_note(active_window_days: int) -> str:
    return f"lost: no order in the last {active_window_days} days"


def next_purchase(features: pd.DataFrame, active_window_days: int = 365) -> pd.DataFrame:
    """expected_next_order_date, next_order_note, overdue_since, days_overdue, overdue.

    `features`: customer_features rows (as_of_date, frequency, last_order_at,
    median/stddev_days_between_orders)."""
    as_of = pd.to_datetime(features["as_of_date"]).dt.normalize()
    last = pd.to_datetime(features["last_order_at"]).dt.normalize()
    frequency = features["frequency"].fillna(0).astype(float)
    gap = features["median_days_between_orders"].astype(float)
    spread = features["stddev_days_between_orders"].astype(float).fillna(0.0)
    # Days since the last order, counted in calendar days to the as-of date.
    since_last = (as_of - last).dt.days.astype(float)

    has_orders = frequency > 0
    lost = has_orders & (since_last > active_window_days)
    rhythm = has_orders & ~lost & (frequency >= 2) & gap.notna()
    # Several orders on one day give a gap of 0: a cycle is at least a day.
    cycle = np.maximum(gap.fillna(1.0), 1.0)
    due = last + pd.to_timedelta(cycle.round(), unit="D")
    past_due = rhythm & (due < as_of)
    cycles_to_today = np.ceil(since_last / cycle.round()).clip(lower=1)
    rolled = last + pd.to_timedelta(cycles_to_today * cycle.round(), unit="D")
    expected = due.where(~past_due, rolled).where(rhythm)

    note = pd.Series(ON_SCHEDULE, index=features.index, dtype=object)
    note[past_due] = PAST_DUE
    note[has_orders & ~lost & ~rhythm] = ONE_ORDER
    note[lost] = lost_note(active_window_days)
    note[~has_orders] = NO_ORDERS

    tolerance = np.maximum(2 * spread, 0.5 * gap)
    overdue = past_due & (frequency >= MIN_ORDERS_FOR_OVERDUE) & (since_last > gap + tolerance)
    overdue_since = due.where(past_due)
    days_overdue = (as_of - due).dt.days.where(past_due)
    return pd.DataFrame(
        {
            "expected_next_order_date": expected.dt.date,
            "next_order_note": note,
            "overdue_since": overdue_since.dt.date,
            "days_overdue": days_overdue.astype("Int64"),
            "overdue": overdue.fillna(False).astype(bool),
        },
        index=features.index,
    )
