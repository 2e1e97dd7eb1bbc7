"""The raw assets load through the `engine` resource: INSIGHTS_ENGINE picks DuckDB or Spark
and the asset code is the same; both leave the same raw rows."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from tests.refresh import query, refresh
from tests.support import foreign_exports as fe
from tests.support.spark import spark_session  # noqa: F401 (fixture)

RAW_ORDERS = dg.AssetKey(["raw", "orders"])


def _rows(frame: pd.DataFrame) -> list[tuple]:
    frame = frame.drop(columns="_batch").sort_values(["_source_file", "_source_row"])
    return [tuple(None if pd.isna(v) else str(v) for v in row) for row in frame.to_numpy()]


def test_raw_orders_asset_runs_on_either_engine(
    spark_session,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    landing = tmp_path / "landing"
    fe.semicolon_eur(landing, n_customers=30)

    duck = refresh(landing, tmp_path / "duck" / "warehouse.duckdb", asset_selection=[RAW_ORDERS])
    assert duck.result.success
    expected = query(duck.warehouse_path, "select * from raw.orders")

    monkeypatch.setenv("INSIGHTS_ENGINE", "spark")
    sparked = refresh(
        landing, tmp_path / "spark" / "warehouse.duckdb", asset_selection=[RAW_ORDERS]
    )
    assert sparked.result.success
    loaded = spark_session.table("raw.orders").toPandas()
    assert _rows(loaded) == _rows(expected)
    metadata = sparked.result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["dagster/row_count"].value == len(expected)
    assert metadata["rows_merged_same_time"].value > 0
    # The shared test session is still running: the resource stops only sessions it started.
    assert spark_session.range(1).count() == 1
