"""When will each customer order next, judged by their own rhythm?

expected_next_order_date = last order + the customer's median gap between orders (customers
with fewer than two orders have no rhythm yet: null). `overdue` is true when the days since the
last order exceed the usual gap by a clear margin: more than median + max(2 x standard deviation,
half the median) of the customer's own gaps, with at least 3 orders so the gaps mean something.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_ORDERS_FOR_OVERDUE = 3


def next_purchase(features: pd.DataFrame) -> pd.DataFrame:
    median = features["median_days_between_orders"].astype(float)
    spread = features["stddev_days_between_orders"].astype(float).fillna(0.0)
    last = pd.to_datetime(features["last_order_at"])
    expected = (last + pd.to_timedelta(median, unit="D")).dt.normalize()
    tolerance = np.maximum(2 * spread, 0.5 * median)
    overdue = (
        (features["frequency"] >= MIN_ORDERS_FOR_OVERDUE)
        & median.notna()
        & (features["recency_days"].astype(float) > median + tolerance)
    )
    return pd.DataFrame(
        {
            "expected_next_order_date": expected.dt.date,
            "overdue": overdue.fillna(False).astype(bool),
        },
        index=features.index,
    )
