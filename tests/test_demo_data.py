"""The demo generator is deterministic and plants the structure the models are tested on."""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from demo_data import LandingNotEmptyError, generate, write_dataset
from demo_data.generator import CATEGORIES, CATEGORY_PAIRS, DECLINE_DAYS, EVENT_TYPES
from demo_data.personas import PERSONA_NAMES, PERSONAS


@pytest.fixture(scope="module")
def dataset():
    return generate(n_customers=3000, seed=11)


def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    a, b, c = generate(800, seed=1), generate(800, seed=1), generate(800, seed=2)
    for name in ("customers", "orders", "order_items", "events", "truth"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.orders.equals(c.orders)


def test_written_files_are_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    first = write_dataset(generate(300, seed=3), tmp_path / "a", tmp_path / "ta")
    second = write_dataset(generate(300, seed=3), tmp_path / "b", tmp_path / "tb")
    for entity in first.row_counts:
        a = (first.landing_dir / f"{entity}.csv").read_bytes()
        assert a == (second.landing_dir / f"{entity}.csv").read_bytes()


def test_persona_shares_follow_the_persona_table(dataset) -> None:
    shares = dataset.truth["persona"].value_counts(normalize=True).sort_index()
    expected = np.array([p.share for p in PERSONAS])
    np.testing.assert_allclose(shares.to_numpy(), expected, atol=0.002)


def test_sizes_scale_from_one_thousand_customers() -> None:
    small = generate(1000, seed=5)
    assert len(small.customers) == 1000
    assert small.truth["persona"].nunique() == len(PERSONAS)
    assert len(small.orders) > 5 * 1000


def _persona(dataset, name: str) -> np.ndarray:
    code = PERSONA_NAMES.index(name)
    return dataset.truth.loc[dataset.truth["persona"] == code, "customer_idx"].to_numpy()


def test_replenishment_buyers_order_on_a_regular_cycle(dataset) -> None:
    orders = dataset.orders.sort_values(["customer_idx", "day"])
    gaps = orders.groupby("customer_idx")["day"].diff()
    cv = gaps.groupby(orders["customer_idx"]).std() / gaps.groupby(orders["customer_idx"]).mean()
    loyal = cv.reindex(_persona(dataset, "loyal_regulars")).median()
    occasional = cv.reindex(_persona(dataset, "bargain_occasional")).median()
    assert loyal < 0.35 < occasional


def test_seasonal_peak_in_november_and_december(dataset) -> None:
    days = pd.to_datetime(dataset.start) + pd.to_timedelta(dataset.orders["day"], unit="D")
    per_month = days.dt.month.value_counts()
    assert per_month[[11, 12]].mean() > 1.3 * per_month[[2, 3, 4, 5]].mean()


def test_engagement_declines_before_a_churner_stops_ordering(dataset) -> None:
    truth = dataset.truth.dropna(subset=["churn_day"])
    window_start = (dataset.end - dataset.start).days + 1 - 365
    churners = truth[truth["churn_day"] > window_start + 120]
    assert len(churners) > 50
    # Organic engagement (logins, e-mail opens); visits that place an order go on to the end.
    organic = [list(EVENT_TYPES).index(t) for t in ("login", "email_open")]
    sessions = dataset.events[dataset.events["event_type"].isin(organic)]
    sessions = sessions.merge(churners[["customer_idx", "churn_day"]], on="customer_idx")
    before = sessions["churn_day"] - sessions["day"]
    late = ((before >= 0) & (before < DECLINE_DAYS / 2)).sum()
    early = ((before >= 70) & (before < 70 + DECLINE_DAYS / 2)).sum()
    after = ((before < 0) & (before > -DECLINE_DAYS / 2)).sum()
    assert late < 0.7 * early
    assert after < 0.3 * late


def test_lost_and_lapsing_customers_stop_ordering_and_others_keep_going(dataset) -> None:
    last = dataset.orders.groupby("customer_idx")["day"].max()
    horizon = (dataset.end - dataset.start).days + 1
    assert (horizon - last.reindex(_persona(dataset, "lost"))).min() > 300
    lapsing_recency = horizon - last.reindex(_persona(dataset, "lapsing"))
    assert lapsing_recency.between(30, 400).mean() > 0.95
    assert (horizon - last.reindex(_persona(dataset, "champions"))).median() < 30


def test_order_lines_add_up_to_the_order_amount(dataset) -> None:
    items = dataset.order_items.assign(value=lambda d: d["quantity"] * d["unit_price"])
    totals = items.groupby("order_idx")["value"].sum()
    amounts = dataset.orders.set_index("order_idx")["amount"].reindex(totals.index)
    assert (totals - amounts).abs().max() < 0.05 * 3  # cents lost to rounding, per line


def test_planted_category_pairs_are_bought_together(dataset) -> None:
    baskets = dataset.order_items.groupby("order_idx")["category"].apply(set)
    for antecedent, consequent, probability in CATEGORY_PAIRS:
        a, c = list(CATEGORIES).index(antecedent), list(CATEGORIES).index(consequent)
        with_a = baskets[baskets.apply(lambda s, a=a: a in s)]
        confidence = with_a.apply(lambda s, c=c: c in s).mean()
        base_rate = baskets.apply(lambda s, c=c: c in s).mean()
        assert confidence > probability * 0.8
        assert confidence > 3 * base_rate


def test_writer_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text("my,own,data\n")
    with pytest.raises(LandingNotEmptyError):
        write_dataset(generate(100, seed=1), landing, tmp_path / "truth")
    assert (landing / "orders.csv").read_text() == "my,own,data\n"
    write_dataset(generate(100, seed=1), landing, tmp_path / "truth", force=True)
    assert (landing / "customers.csv").exists()


def test_parquet_output_has_the_contract_columns(tmp_path: Path) -> None:
    written = write_dataset(generate(200, seed=1), tmp_path / "l", tmp_path / "t", "parquet")
    path = written.landing_dir / "orders.parquet"
    columns = [c[0] for c in duckdb.sql(f"describe '{path}'").fetchall()]
    assert columns == ["order_id", "customer_id", "ordered_at", "amount", "status"]
    assert (
        duckdb.execute(f"select count(*) from '{path}'").fetchone()[0]
        == written.row_counts["orders"]
    )


def test_btyd_shape_is_orders_only_deterministic_and_consistent_with_its_truth(
    tmp_path: Path,
) -> None:
    from demo_data.btyd import generate_btyd, read_btyd_truth, write_btyd

    first = write_btyd(generate_btyd(2000, seed=4), tmp_path / "a", tmp_path / "ta")
    write_btyd(generate_btyd(2000, seed=4), tmp_path / "b", tmp_path / "tb")
    assert sorted(p.name for p in first.landing_dir.iterdir()) == [".demo-data", "orders.csv"]
    assert (tmp_path / "a" / "orders.csv").read_bytes() == (
        tmp_path / "b" / "orders.csv"
    ).read_bytes()
    meta, truth = read_btyd_truth(tmp_path / "ta")
    assert meta["params"]["r"] == pytest.approx(0.55) and meta["cohorts"] == "one"
    orders = pd.read_csv(tmp_path / "a" / "orders.csv", parse_dates=["ordered_at"])
    merged = orders.merge(truth, on="customer_id")
    # Nobody orders after dying or before being acquired; the cohort arrives in 12 weeks.
    assert (merged["ordered_at"] <= merged["death_at"]).all()
    assert (merged["ordered_at"] >= merged["acquired_at"]).all()
    assert truth["acquired_at"].max() < pd.Timestamp(meta["start"]) + pd.Timedelta(weeks=12)
    assert orders["customer_id"].nunique() == 2000
    assert orders["ordered_at"].max() < pd.Timestamp(meta["end"]) + pd.Timedelta(days=1)
    many = generate_btyd(2000, seed=4, cohorts="many").truth["acquired_week"]
    assert many.max() > 60  # acquisition spreads over the 78 weeks
    # A rewrite over a folder the generator did not write is refused.
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "orders.csv").write_text("x\n")
    with pytest.raises(LandingNotEmptyError):
        write_btyd(generate_btyd(10, seed=1), tmp_path / "user", tmp_path / "tu")
