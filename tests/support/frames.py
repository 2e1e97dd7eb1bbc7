"""Comparing tables written by different engines (or by an engine and pandas)."""

from __future__ import annotations

import pandas as pd


def comparable(frame: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """Rows by customer, dates as timestamps, nulls as NaN/None (engines type them apart)."""
    out = frame.sort_values("customer_id", ignore_index=True)[list(schema)].copy()
    for column, kind in schema.items():
        if kind == "date":
            out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
        elif kind in ("double", "bigint"):
            out[column] = pd.to_numeric(out[column]).astype(float)
        elif kind == "string":
            out[column] = out[column].astype(object).where(out[column].notna(), None)
        elif kind == "boolean":
            out[column] = out[column].astype(bool)
    return out
