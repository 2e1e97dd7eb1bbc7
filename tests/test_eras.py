"""Any era, short histories, and a load that says what went wrong.

A 1990s orders-only export of one acquisition cohort (18 months, 181-day horizon; laid out
like the CDNOW log: whitespace-aligned, YYYYMMDD integer dates, read with the README's
mapping.yaml) and a simulated set dated 2028-2030 both run the whole pipeline with nothing
quarantined and no label window past the as-of date. A file whose rows are all unusable then
stops the refresh at the load, naming the file, the reasons and the key to fix, and leaves the
published files as they were.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.refresh import RefreshedWarehouse, query, refresh
from tests.support.dbt_cli import run_dbt
from tests.support.foreign_exports import CDNOW_MAPPING

COHORT_START = date(1997, 1, 1)
HISTORY_END = date(1998, 6, 30)  # 18 months
HORIZON = 181


def single_cohort_orders(n_customers: int = 400, seed: int = 11) -> pd.DataFrame:
    """Orders of one cohort acquired in the first quarter, buying until they lapse."""
    rng = np.random.default_rng(seed)
    last_day = (HISTORY_END - COHORT_START).days
    rows = []
    for customer in range(n_customers):
        day = rng.uniform(0, 90)
        lapse = rng.exponential(400)
        interval = rng.uniform(15, 120)
        while day <= min(last_day, lapse):
            when = pd.Timestamp(COHORT_START) + pd.Timedelta(days=float(day))
            rows.append((f"K{customer:05d}", when.floor("s"), round(rng.gamma(2, 20), 2)))
            day += rng.exponential(interval)
    return pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])


def _assert_no_leak(run: RefreshedWarehouse) -> pd.Timestamp:
    """Every training cutoff's label window ends by the as-of date; returns the as-of date."""
    as_of = run.query("select as_of_date from marts.run_context")["as_of_date"].iloc[0]
    cutoffs = run.query("select * from intermediate.int_feature_cutoffs where not is_current")
    assert len(cutoffs) >= 3
    horizon = pd.to_timedelta(cutoffs["churn_horizon_days"], unit="D")
    assert (pd.to_datetime(cutoffs["cutoff_date"]) + horizon <= as_of).all()
    assert pd.to_datetime(cutoffs["cutoff_date"]).max() + horizon.iloc[0] > as_of - pd.Timedelta(
        days=7
    ), "the anchor is the Monday on or before the as-of date, at most 6 days before it"
    windows = run.query("select max(label_window_end) as last from marts.churn_training_set")
    assert windows["last"].iloc[0] <= as_of
    leak_checks = {
        c.check_name: c.passed
        for c in run.result.get_asset_check_evaluations()
        if c.check_name.startswith("label_window_within_as_of")
    }
    assert any("churn_training_set" in name for name in leak_checks)
    assert all(leak_checks.values()), leak_checks
    return as_of


def _nothing_quarantined(run: RefreshedWarehouse) -> None:
    audit = run.query("select entity, rows_read, rows_quarantined from quarantine.load_audit")
    assert audit["rows_quarantined"].sum() == 0, audit
    assert audit.set_index("entity").loc["orders", "rows_read"] > 0


@pytest.fixture(scope="module")
def nineties(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    root = tmp_path_factory.mktemp("nineties")
    landing = root / "landing"
    landing.mkdir()
    # Laid out like the well-known CDNOW log: whitespace-aligned, YYYYMMDD integer dates.
    orders = single_cohort_orders()
    lines = [f"{'customer_id':>11}  {'date':>8}  {'number_of_cds':>13}  {'dollar_value':>12}"]
    lines += [
        f"{row.customer_id:>11}  {row.ordered_at:%Y%m%d}  {1:>13}  {row.amount:>12.2f}"
        for row in orders.itertuples()
    ]
    (landing / "cdnow_orders.txt").write_text("\n".join(lines) + "\n")
    (landing / "mapping.yaml").write_text(CDNOW_MAPPING)
    return refresh(landing, root / "warehouse.duckdb", churn_horizon_days=HORIZON)


def test_1990s_single_cohort_18_months_trains_and_scores(nineties: RefreshedWarehouse) -> None:
    assert nineties.result.success
    _nothing_quarantined(nineties)
    as_of = _assert_no_leak(nineties)
    latest = nineties.query("select max(ordered_at) as t from staging.stg_landing__orders")["t"]
    assert as_of == pd.Timestamp(latest.iloc[0].date() + timedelta(days=1))
    assert as_of.year == 1998
    context = nineties.query("select * from marts.run_context").iloc[0]
    assert context["training_cutoffs_used"] >= 3 and context["cutoff_note"]
    scores = nineties.query(
        "select count(*) as n, count(churn_probability) as p from ml.churn_scores"
    )
    customers = nineties.query("select count(*) as n from marts.customer_features")["n"].iloc[0]
    assert scores["n"].iloc[0] == customers and scores["p"].iloc[0] > 0


def _dbt_cutoffs(warehouse: Path, root: Path, as_of: str) -> pd.DataFrame:
    """int_feature_cutoffs rebuilt for another as-of date in a copy of the warehouse."""
    copy = root / "cutoffs.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    variables = {"warehouse_path": str(copy), "as_of": as_of, "churn_horizon_days": HORIZON}
    build = run_dbt("run", "int_run_context int_feature_cutoffs", variables, root)
    assert build.returncode == 0, build.stdout[-3000:]
    return query(copy, "select * from intermediate.int_feature_cutoffs order by cutoff_date")


def test_short_history_gets_fewer_closer_cutoffs_inside_the_history(
    nineties: RefreshedWarehouse, tmp_path: Path
) -> None:
    # As of Monday 1997-09-01 with a 181-day horizon the newest cutoff is 1997-03-04, only 32
    # days after the first order plus 30. The configured 6 x 30 days would reach back into
    # 1996, before the cohort arrived; the layout packs 3 cutoffs 16 days apart instead.
    cutoffs = _dbt_cutoffs(nineties.warehouse_path, tmp_path, "1997-09-01")
    historical = cutoffs[~cutoffs["is_current"]]
    first_order = nineties.query("select min(ordered_at) as t from staging.stg_landing__orders")
    earliest = pd.Timestamp(first_order["t"].iloc[0].date()) + pd.Timedelta(days=30)
    assert len(historical) == 3
    assert (pd.to_datetime(historical["cutoff_date"]) >= earliest).all()
    gaps = pd.to_datetime(historical["cutoff_date"]).diff().dropna().dt.days
    assert (gaps == historical["cutoff_spacing_days_used"].iloc[0]).all()
    assert 7 <= historical["cutoff_spacing_days_used"].iloc[0] < 30
    assert (cutoffs["training_cutoffs_used"] == 3).all()
    assert cutoffs["cutoff_note"].iloc[0].startswith("short history: 3 cutoff(s)")
    horizon = pd.Timedelta(days=HORIZON)
    assert (pd.to_datetime(historical["cutoff_date"]) + horizon <= pd.Timestamp("1997-09-01")).all()


def _published(root: Path) -> dict[str, str]:
    """sha256 of the serving database and every export file."""
    files = [root / "serving.duckdb", *sorted((root / "exports").rglob("*"))]
    return {
        str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in files
        if f.is_file()
    }


def test_all_rows_quarantined_stops_at_the_load_and_keeps_published_files(
    nineties: RefreshedWarehouse, tmp_path: Path
) -> None:
    root = nineties.warehouse_path.parent
    before = _published(root)
    assert "serving.duckdb" in before and len(before) > 1
    features_sql = "select * from marts.customer_features order by customer_id"
    features = nineties.query(features_sql)
    landing = tmp_path / "landing"
    landing.mkdir()
    # Every date before the 1950 floor: the history of a mis-set date column.
    orders = single_cohort_orders(n_customers=30)
    orders["ordered_at"] = orders["ordered_at"] - pd.DateOffset(years=60)
    orders.to_csv(landing / "orders.csv", index=False)
    run = refresh(
        landing, nineties.warehouse_path, churn_horizon_days=HORIZON, raise_on_error=False
    )
    assert not run.result.success
    message = run.result.failure_data_for_node("dbt_models").user_failure_data.description
    assert f"orders: {len(orders)} of {len(orders)} rows (100%) were quarantined" in message
    assert "File: orders.csv" in message
    assert f"date_too_old: {len(orders)} rows (e.g. orders.csv line 2)" in message
    assert "`orders.min_date`" in message and "INSIGHTS_MIN_VALID_DATE" in message
    assert "K00000" not in message  # no customer data in the message
    assert not run.result.is_node_success("ml__churn_model")
    assert _published(root) == before
    # dbt stopped after staging and quarantine: the marts are the last good run's.
    pd.testing.assert_frame_equal(nineties.query(features_sql), features)


@pytest.fixture(scope="module")
def future(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    from demo_data import generate, write_dataset

    root = tmp_path_factory.mktemp("future")
    dataset = generate(n_customers=400, seed=5, start=date(2028, 1, 1), end=date(2030, 12, 31))
    written = write_dataset(dataset, root / "landing", root / "truth")
    # A simulated set dated after the run date: the configured as-of date says so.
    return refresh(written.landing_dir, root / "warehouse.duckdb", as_of="2031-01-01")


def test_simulated_2030_set_runs_with_the_as_of_in_the_future(future: RefreshedWarehouse) -> None:
    assert future.result.success
    _nothing_quarantined(future)
    assert _assert_no_leak(future) == pd.Timestamp("2031-01-01")
    scored = future.query("select count(churn_probability) as n from ml.churn_scores")
    assert scored["n"].iloc[0] > 0
