"""Point-in-time correctness: features as of a date never read data on or after it."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demo_data import generate, write_dataset
from tests.refresh import build_selection, refresh

AS_OF = "2025-10-01"


def _mutate_after(landing: Path, target: Path, cutoff: str, seed: int) -> None:
    """Copy the landing files, changing, deleting and adding rows dated on/after `cutoff`."""
    target.mkdir()
    rng = np.random.default_rng(seed)
    cut = pd.Timestamp(cutoff)
    orders = pd.read_csv(landing / "orders.csv", parse_dates=["ordered_at"])
    late = orders["ordered_at"] >= cut
    orders.loc[late, "amount"] = orders.loc[late, "amount"] * 10
    orders.loc[late, "status"] = np.where(rng.random(late.sum()) < 0.5, "completed", "cancelled")
    orders = orders.drop(orders[late].sample(frac=0.3, random_state=seed).index)
    extra = pd.DataFrame(
        {
            "order_id": [f"X{i}" for i in range(200)],
            # Existing customers and brand-new ones both buy after the cutoff.
            "customer_id": [f"C{i:07d}" for i in rng.integers(1, 1300, 200)],
            "ordered_at": cut + pd.to_timedelta(rng.integers(0, 80 * 24, 200), unit="h"),
            "amount": rng.uniform(5, 500, 200).round(2),
            "status": "completed",
        }
    )
    pd.concat([orders, extra]).to_csv(target / "orders.csv", index=False)

    events = pd.read_csv(landing / "events.csv", parse_dates=["occurred_at"])
    events = events[(events["occurred_at"] < cut) | (rng.random(len(events)) < 0.5)]
    burst = pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in rng.integers(1, 1300, 500)],
            "occurred_at": cut + pd.to_timedelta(rng.integers(0, 60 * 24, 500), unit="h"),
            "event_type": rng.choice(["session_start", "email_open", "add_to_cart"], 500),
            "properties": None,
        }
    )
    pd.concat([events, burst]).to_csv(target / "events.csv", index=False)
    for name in ("customers.csv", "order_items.csv"):
        (target / name).write_bytes((landing / name).read_bytes())


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pit")
    written = write_dataset(generate(n_customers=1200, seed=21), root / "landing", root / "truth")
    # Each run in its own folder: its own models, trained on the data it sees.
    return root, refresh(written.landing_dir, root / "base" / "warehouse.duckdb", as_of=AS_OF)


def _frame(warehouse, sql: str) -> pd.DataFrame:
    return warehouse.query(sql).sort_values(["customer_id"]).reset_index(drop=True)


def test_rows_on_or_after_the_as_of_date_change_no_feature(baseline) -> None:
    root, base = baseline
    _mutate_after(base.landing_dir, root / "late_changes", AS_OF, seed=1)
    changed = refresh(root / "late_changes", root / "late" / "warehouse.duckdb", as_of=AS_OF)
    for table in ("customer_features", "customer_rfm", "customer_engagement", "run_context"):
        sql = f"select * from marts.{table}"
        if table == "run_context":
            pd.testing.assert_frame_equal(base.query(sql), changed.query(sql))
        else:
            pd.testing.assert_frame_equal(_frame(base, sql), _frame(changed, sql))
    # Models trained and scores computed as of the date cannot see those rows either.
    for table in ("churn_scores", "customer_segments"):
        sql = f"select * from ml.{table}"
        pd.testing.assert_frame_equal(_frame(base, sql), _frame(changed, sql))
    # Nor can purchase patterns (affinities, rules, their evaluation, the recommendations) and
    # the behaviour marts.
    for sql in (
        "select * from marts.customer_category_affinity order by customer_id, category",
        "select * from marts.category_associations order by antecedent, consequent",
        "select * from ml.recommendation_evaluation order by method",
        "select * from ml.customer_recommendations order by customer_id, rank",
        # Behaviour: replenishment cadence and seasonality.
        "select * from marts.customer_category_cadence order by customer_id, category",
        "select * from marts.customer_category_seasonality order by customer_id, category",
    ):
        pd.testing.assert_frame_equal(base.query(sql), changed.query(sql))
    # And decision speed and channel preference (README "Behaviour").
    for sql in (
        "select * from marts.customer_behaviour order by customer_id",
        "select * from marts.customer_channel_responses order by customer_id, channel, source",
    ):
        pd.testing.assert_frame_equal(base.query(sql), changed.query(sql))


def test_training_snapshots_never_read_after_their_cutoff(baseline) -> None:
    root, base = baseline
    cutoffs = base.query(
        "select distinct cutoff_date from marts.customer_feature_snapshots where not is_current"
    )["cutoff_date"]
    newest = cutoffs.max()
    assert newest <= pd.Timestamp(AS_OF) - pd.Timedelta(days=90)
    # Change everything from the newest historical cutoff on: that cutoff and the older ones
    # must not move, while the current features do.
    _mutate_after(base.landing_dir, root / "mid_changes", str(newest.date()), seed=2)
    # Only marts are compared: the loads and dbt models are enough (no ML, no serving).
    landing, mid = root / "mid_changes", root / "mid" / "warehouse.duckdb"
    changed = refresh(landing, mid, as_of=AS_OF, asset_selection=build_selection(landing, mid))
    # (inputs_fingerprint is bookkeeping that also covers the label window after the cutoff.)
    sql = (
        "select * exclude (inputs_fingerprint) from marts.customer_feature_snapshots "
        "where not is_current order by cutoff_date, customer_id"
    )
    before, after = base.query(sql), changed.query(sql)
    assert len(before) > 5000
    pd.testing.assert_frame_equal(before, after)
    # The purchase history the recommendation evaluation is fitted on does not move either.
    for sql in (
        "select * exclude (inputs_fingerprint) from marts.customer_category_snapshots "
        "where not is_current order by customer_id, category",
        "select * exclude (inputs_fingerprint) from marts.category_association_snapshots "
        "where not is_current order by antecedent, consequent",
    ):
        pd.testing.assert_frame_equal(base.query(sql), changed.query(sql))
    current = "select * from marts.customer_features"
    assert not _frame(base, current).equals(_frame(changed, current))
