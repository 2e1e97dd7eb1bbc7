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


def add_btyd_features(frame: pd.DataFrame, horizon_days: int, cutoff_column: str) -> pd.DataFrame:
    """btyd_p_alive, btyd_expected_orders and btyd_p_no_purchase for buyers (NaN otherwise)."""
    out = frame.copy()
    for column in ("btyd_p_alive", "btyd_expected_orders", "btyd_p_no_purchase"):
        out[column] = np.nan
    for _, group in out.groupby(cutoff_column, sort=True):
        buyers = group[group["frequency"] > 0]
        if len(buyers) < 10:
            continue
        summary = summary_from_snapshot(buyers.rename(columns={cutoff_column: "cutoff_date"}))
        params = fit_bg_nbd(summary)
        out.loc[buyers.index, "btyd_p_alive"] = probability_alive(params, summary)
        out.loc[buyers.index, "btyd_expected_orders"] = expected_purchases(
            params, summary, horizon_days
        )
        out.loc[buyers.index, "btyd_p_no_purchase"] = probability_no_purchase(
            params, summary, horizon_days
        )
    return out
