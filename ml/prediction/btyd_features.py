"""BG/NBD estimates as per-cutoff features: fitted on the history before each cutoff only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.prediction.btyd import (
    expected_purchases,
    fit_bg_nbd,
    probability_alive,
    probability_no_purchase,
    summary_from_snapshot,
)
from ml.prediction.dataset import VALUE_SAMPLE, presampled


def add_btyd_features(frame: pd.DataFrame, horizon_days: int, cutoff_column: str) -> pd.DataFrame:
    """btyd_p_alive, btyd_expected_orders and btyd_p_no_purchase for buyers (NaN otherwise).

    The parameters are fitted on the uniform sample when the frame was sampled upstream (a
    sample weighted towards active buyers would bias them), then applied to every buyer."""
    out = frame.copy()
    for column in ("btyd_p_alive", "btyd_expected_orders", "btyd_p_no_purchase"):
        out[column] = np.nan
    for _, group in out.groupby(cutoff_column, sort=True):
        buyers = group[group["frequency"] > 0]
        fit_buyers = presampled(buyers, VALUE_SAMPLE)
        if fit_buyers is None:
            fit_buyers = buyers
        if len(fit_buyers) < 10:
            continue
        summary = _summary(buyers, cutoff_column)
        fit_summary = summary if fit_buyers is buyers else _summary(fit_buyers, cutoff_column)
        params = fit_bg_nbd(fit_summary)
        out.loc[buyers.index, "btyd_p_alive"] = probability_alive(params, summary)
        out.loc[buyers.index, "btyd_expected_orders"] = expected_purchases(
            params, summary, horizon_days
        )
        out.loc[buyers.index, "btyd_p_no_purchase"] = probability_no_purchase(
            params, summary, horizon_days
        )
    return out


def _summary(buyers: pd.DataFrame, cutoff_column: str) -> pd.DataFrame:
    return summary_from_snapshot(buyers.rename(columns={cutoff_column: "cutoff_date"}))
