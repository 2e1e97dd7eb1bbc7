"""Behavioural features for segmentation: choose, impute, de-skew and scale.

Works on the columns of the `customer_features` mart. Engagement features are used only when
the data has events; a transactions-only data set is segmented on order behaviour alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler

TENURE_CAP_DAYS = 365


FEATURE_DESCRIPTIONS = {
    "recency": "log(1 + days since the last order; days since first seen for non-buyers)",
    "frequency": "log(1 + completed orders)",
    "order_value": "log(1 + average order value); non-buyers get the buyers' median",
    "tenure": "days since first seen, capped at one year, in years (separates new customers)",
    "cadence": "log(1 + median days between orders); fewer than two orders get the median",
    "sessions": "log(1 + sessions in the last 90 days)",
    "browsing": "log(1 + product views and cart adds in the last 90 days)",
}

REQUIRED_COLUMNS = (
    "recency_days",
    "tenure_days",
    "frequency",
    "avg_order_value",
    "median_days_between_orders",
)
ENGAGEMENT_COLUMNS = ("sessions_90d", "product_view_90d", "add_to_cart_90d")


def engagement_available(features: pd.DataFrame) -> bool:
    """True when the mart says events exist and the engagement columns are there."""
    if not set(ENGAGEMENT_COLUMNS) <= set(features.columns):
        return False
    if "events_available" in features.columns:
        return bool(features["events_available"].fillna(False).any())
    return bool(features[list(ENGAGEMENT_COLUMNS)].to_numpy().sum() > 0)


def raw_feature_frame(features: pd.DataFrame, use_engagement: bool) -> pd.DataFrame:
    """The un-imputed, de-skewed behavioural features (NaN where a value is undefined)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in features.columns]
    if missing:
        raise ValueError(f"customer features lack column(s) {missing}")
    tenure = features["tenure_days"].astype(float)
    frame = pd.DataFrame(index=features.index)
    frame["recency"] = np.log1p(features["recency_days"].astype(float).fillna(tenure))
    frame["frequency"] = np.log1p(features["frequency"].astype(float))
    frame["order_value"] = np.log1p(features["avg_order_value"].astype(float))
    frame["tenure"] = np.minimum(tenure, TENURE_CAP_DAYS) / 365.0
    frame["cadence"] = np.log1p(features["median_days_between_orders"].astype(float))
    if use_engagement:
        frame["sessions"] = np.log1p(features["sessions_90d"].astype(float))
        browsing = features["product_view_90d"].astype(float) + features["add_to_cart_90d"]
        frame["browsing"] = np.log1p(browsing)
    return frame


class SegmentationFeatures(BaseEstimator, TransformerMixin):
    """customer_features rows -> scaled behavioural matrix (sklearn transformer).

    fit learns which features to use (engagement only with events), the imputation medians
    and the scaler; transform applies exactly those, so daily assignment sees the training
    representation.
    """

    def __init__(self, use_engagement: bool | None = None) -> None:
        self.use_engagement = use_engagement

    def fit(self, features: pd.DataFrame, y: object = None) -> SegmentationFeatures:
        use = engagement_available(features) if self.use_engagement is None else self.use_engagement
        self.use_engagement_ = bool(use)
        frame = raw_feature_frame(features, self.use_engagement_)
        self.feature_names_ = list(frame.columns)
        # A column that is undefined for everyone (e.g. no repeat buyers) imputes to 0.
        self.medians_ = frame.median().fillna(0.0)
        # A constant column keeps scale 1 in StandardScaler, so it never divides by zero.
        self.scaler_ = StandardScaler().fit(frame.fillna(self.medians_))
        return self

    def transform_raw(self, features: pd.DataFrame) -> pd.DataFrame:
        """De-skewed and imputed, not yet scaled (the units drift and profiles compare in)."""
        frame = raw_feature_frame(features, self.use_engagement_)[self.feature_names_]
        return frame.fillna(self.medians_)

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        return self.scaler_.transform(self.transform_raw(features))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(self.feature_names_)
