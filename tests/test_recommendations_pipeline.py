"""Purchase-pattern marts and recommendation assets: hand-computed rules on a tiny data set, and
the planted co-purchase pairs, hit rates and cross-sell on the demo data."""

import math
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.refresh import RefreshedWarehouse, materialization, query, refresh, selection_up_to

# As of 2024-04-01; the evaluation cutoff is one horizon (90 days) earlier: 2024-01-02.
#
# group  customers  completed orders (categories)                  notes
# S      6          02-01 (Shoes, Socks)
# T      4          02-01 (Shoes); 03-01 (Socks)                    pair across two orders
# U      5          02-01 (Shoes, Books)
# V      5          03-01 (Books); a cancelled 03-05 (Socks)        cancelled lines ignored
# X      4          02-01 (Shoes, Toys)                             4 < 5 customers: no rule
# W      5          04-05 (Shoes, Socks)                            after the as-of date
# Y      1          2023-12-01 (Books); 03-10 (Books, Toys)         history before the cutoff
# Z      1          02-01 without order lines                       no items: no recommendation
#
# Before the as-of date: 25 buying customers (Z has no lines); buyers of Shoes 19, Socks 10,
# Books 11, Toys 5; 30 orders with lines, of which Shoes 19, Socks 10, Books 12.
GROUPS = {
    "S": (6, [("2024-02-01", "completed", ["Shoes", "Socks"])]),
    "T": (4, [("2024-02-01", "completed", ["Shoes"]), ("2024-03-01", "completed", ["Socks"])]),
    "U": (5, [("2024-02-01", "completed", ["Shoes", "Books"])]),
    "V": (5, [("2024-03-01", "completed", ["Books"]), ("2024-03-05", "cancelled", ["Socks"])]),
    "X": (4, [("2024-02-01", "completed", ["Shoes", "Toys"])]),
    "W": (5, [("2024-04-05", "completed", ["Shoes", "Socks"])]),
    "Y": (
        1,
        [("2023-12-01", "completed", ["Books"]), ("2024-03-10", "completed", ["Books", "Toys"])],
    ),
    "Z": (1, [("2024-02-01", "completed", [])]),
}
PRICES = {"Shoes": 60.0, "Socks": 5.0, "Books": 10.0, "Toys": 20.0}


def _landing_files() -> tuple[str, str]:
    orders = ["order_id,customer_id,ordered_at,amount,status"]
    items = ["order_id,product_id,category,quantity,unit_price"]
    for group, (size, group_orders) in GROUPS.items():
        for member in range(1, size + 1):
            for number, (day, status, categories) in enumerate(group_orders, start=1):
                order_id = f"{group}{member}-{number}"
                amount = sum(PRICES[c] for c in categories) or 15.0
                orders.append(f"{order_id},{group}{member},{day},{amount},{status}")
                items += [f"{order_id},P-{c},{c},1,{PRICES[c]}" for c in categories]
    return "\n".join(orders) + "\n", "\n".join(items) + "\n"


@pytest.fixture(scope="module")
def baskets(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    root = tmp_path_factory.mktemp("baskets")
    landing = root / "landing"
    landing.mkdir()
    orders, items = _landing_files()
    (landing / "orders.csv").write_text(orders)
    (landing / "order_items.csv").write_text(items)
    # 36 customers are too few for the churn model; the marts and recommendations are tested,
    # so only they and what they read run.
    path = root / "warehouse.duckdb"
    warehouse = refresh(
        landing,
        path,
        as_of="2024-04-01",
        raise_on_error=False,
        asset_selection=selection_up_to(landing, path, "ml/customer_recommendations"),
    )
    for step in ("dbt_models", "ml__recommendation_evaluation", "ml__customer_recommendations"):
        assert warehouse.result.is_node_success(step), step
    return warehouse


def _rule(warehouse: RefreshedWarehouse, antecedent: str, consequent: str) -> dict:
    frame = warehouse.query(
        "select * from marts.category_associations where antecedent = ? and consequent = ?",
        [antecedent, consequent],
    )
    assert len(frame) == 1, f"{antecedent} -> {consequent}"
    return frame.iloc[0].to_dict()


@pytest.mark.parametrize(
    ("antecedent", "consequent", "both", "antecedent_buyers", "consequent_buyers"),
    [
        ("Shoes", "Socks", 10, 19, 10),
        ("Socks", "Shoes", 10, 10, 19),
        ("Shoes", "Books", 5, 19, 11),
        ("Books", "Shoes", 5, 11, 19),
    ],
)
def test_rules_over_customer_histories(
    baskets, antecedent, consequent, both, antecedent_buyers, consequent_buyers
) -> None:
    rule = _rule(baskets, antecedent, consequent)
    assert rule["buying_customers"] == 25
    assert rule["customers_with_both"] == both
    assert rule["support"] == pytest.approx(both / 25, abs=1e-6)
    assert rule["confidence"] == pytest.approx(both / antecedent_buyers, abs=1e-6)
    assert rule["lift"] == pytest.approx(
        both / antecedent_buyers / (consequent_buyers / 25), abs=1e-6
    )


def test_basket_columns_count_single_orders(baskets) -> None:
    # Shoes and Socks share a basket only in the 6 S orders; 19 orders hold Shoes, 10 Socks.
    rule = _rule(baskets, "Shoes", "Socks")
    assert rule["orders_with_antecedent"] == 19 and rule["orders_with_both"] == 6
    assert rule["basket_confidence"] == pytest.approx(6 / 19, abs=1e-6)
    assert rule["basket_lift"] == pytest.approx((6 / 19) / (10 / 30), abs=1e-6)
    assert _rule(baskets, "Shoes", "Socks")["rank_for_antecedent"] == 1  # lift 25/19 > 1
    assert _rule(baskets, "Shoes", "Books")["rank_for_antecedent"] == 2


def test_rare_pairs_are_left_out(baskets) -> None:
    pairs = baskets.query("select antecedent, consequent from marts.category_associations")
    found = set(zip(pairs["antecedent"], pairs["consequent"], strict=True))
    assert ("Shoes", "Toys") not in found  # 4 customers, below the minimum of 5
    assert ("Books", "Toys") not in found  # only Y
    assert ("Socks", "Books") not in found  # nobody


def test_affinity_is_recency_weighted_spend_share(baskets) -> None:
    y = baskets.query(
        "select * from marts.customer_category_affinity where customer_id = 'Y1' order by category"
    ).set_index("category")
    assert y["spend"].to_dict() == {"Books": 20.0, "Toys": 20.0}
    assert y["spend_share"].tolist() == [0.5, 0.5]
    # Books: 10 bought 122 days and 10 bought 22 days before the as-of date; Toys: 20, 22 days.
    books = 10 * math.exp(-122 / 180) + 10 * math.exp(-22 / 180)
    toys = 20 * math.exp(-22 / 180)
    assert y.loc["Books", "affinity"] == pytest.approx(books / (books + toys), abs=1e-6)
    assert y.loc["Toys", "affinity_rank"] == 1
    assert y.loc["Books", "orders_with_category"] == 2
    assert y.loc["Books", "days_since_last_bought"] == 22
    # Cancelled lines and lines on or after the as-of date count nowhere.
    socks = baskets.query(
        "select count(*) as n from marts.customer_category_affinity where category = 'Socks'"
    )
    assert socks["n"].item() == 10


def test_new_categories_after_the_evaluation_cutoff(baskets) -> None:
    new = baskets.query("select * from marts.customer_new_categories")
    assert set(new["cutoff_date"].astype(str)) == {"2024-01-02"}
    assert set(new["label_window_end"].astype(str)) == {"2024-04-01"}
    by_customer = new.groupby("customer_id")["category"].apply(set)
    assert by_customer["Y1"] == {"Toys"}  # Books was bought before the cutoff
    assert by_customer["V1"] == {"Books"}  # the cancelled Socks order does not count
    assert by_customer["S1"] == {"Shoes", "Socks"}
    assert not any(c.startswith("W") for c in by_customer.index)  # after the window


def test_customer_without_order_lines_gets_nothing_and_no_error(baskets) -> None:
    recommendations = baskets.query("select * from ml.customer_recommendations")
    assert "Z1" not in set(recommendations["customer_id"])
    features = baskets.query("select customer_id from marts.customer_features")
    assert "Z1" in set(features["customer_id"])
    # Buyers of Shoes without Socks (U and X) are pointed to Socks whatever method won.
    u1 = recommendations[recommendations["customer_id"] == "U1"].sort_values("rank")
    assert u1["category"].iloc[0] == "Socks"


# --- The demo data: planted co-purchase pairs --------------------------------------------------


def test_planted_pairs_are_the_top_rules_for_their_antecedent(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    planted = pd.read_csv(demo_warehouse.truth_dir / "category_pairs.csv")
    rules = demo_warehouse.query("select * from marts.category_associations")
    for pair in planted.itertuples(index=False):
        own = rules[rules["antecedent"] == pair.antecedent].set_index("consequent")
        assert own["lift"].idxmax() == pair.consequent, pair
        assert own["confidence"].idxmax() == pair.consequent, pair
        assert own.loc[pair.consequent, "rank_for_antecedent"] == 1
        assert own.loc[pair.consequent, "lift"] > 1
        # The generator adds the partner to a basket with the planted probability.
        assert own.loc[pair.consequent, "basket_confidence"] == pytest.approx(
            pair.probability, abs=0.08
        )


def test_model_beats_popularity_on_new_categories(demo_warehouse: RefreshedWarehouse) -> None:
    evaluation = demo_warehouse.query("select * from ml.recommendation_evaluation").set_index(
        "method"
    )
    assert set(evaluation.index) == {"association", "item_similarity", "popularity"}
    selected = evaluation[evaluation["selected"]].iloc[0]
    popularity = evaluation.loc["popularity"]
    assert selected.name != "popularity"
    assert selected["hit_at_3"] > popularity["hit_at_3"]
    assert selected["margin_hit_at_3"] == pytest.approx(
        selected["hit_at_3"] - popularity["hit_at_3"]
    )
    assert (evaluation["hit_at_10"] >= evaluation["hit_at_3"]).all()
    assert selected["customers_evaluated"] > 0
    as_of = demo_warehouse.query("select as_of_date from marts.run_context")["as_of_date"].item()
    assert selected["evaluation_cutoff"] < selected["window_end"] <= as_of
    metadata = materialization(demo_warehouse.result, "ml/recommendation_evaluation")
    assert "hit_at_3" in metadata["hit_rates"].value
    assert metadata["hit_rate_chart"].value.startswith("![New categories")
    checks = {c.check_name: c for c in demo_warehouse.result.get_asset_check_evaluations()}
    assert checks["model_beats_popularity"].passed
    assert checks["no_already_bought_category"].passed


def test_every_recommendation_is_new_to_the_customer_and_explained(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    recommendations = demo_warehouse.query(
        "select * from ml.customer_recommendations order by customer_id, rank"
    )
    bought = demo_warehouse.query(
        "select customer_id, category from marts.customer_category_affinity"
    )
    assert recommendations.merge(bought, on=["customer_id", "category"]).empty
    assert (
        recommendations.groupby("customer_id")["rank"]
        .apply(list)
        .map(lambda ranks: ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= 3)
        .all()
    )
    assert recommendations["reason"].str.len().gt(0).all()
    # A rule-based reason names a category the customer did buy.
    ruled = recommendations[recommendations["basis"] != "popularity"]
    assert len(ruled) > 0
    because = ruled.merge(
        bought.rename(columns={"category": "because_of"}), on=["customer_id", "because_of"]
    )
    assert len(because) == len(ruled)
    assert ruled["reason"].str.startswith("bought ").all()
    # Rules point at planted structure: the co-purchase pairs, or the categories of the planted
    # habits (replenishment, seasonal), which follow the personas and so co-occur with what
    # their frequent buyers buy.
    planted = pd.read_csv(demo_warehouse.truth_dir / "category_pairs.csv")
    habits = pd.read_csv(demo_warehouse.truth_dir / "category_cadence_truth.csv")
    assert set(ruled["category"]) <= (
        set(planted["consequent"]) | set(planted["antecedent"]) | set(habits["category"])
    )


def test_customers_without_order_lines_get_no_recommendations(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    without = demo_warehouse.query(
        "select customer_id from marts.customer_features where customer_id not in "
        "(select customer_id from marts.customer_category_affinity)"
    )
    assert len(without) > 0  # sign-ups who never ordered
    recommended = demo_warehouse.query(
        "select distinct customer_id from ml.customer_recommendations"
    )
    assert not set(without["customer_id"]) & set(recommended["customer_id"])
    assert demo_warehouse.result.is_node_success("ml__customer_recommendations")


def test_segment_cross_sell_lists_under_bought_associated_categories(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    segments = demo_warehouse.query("select distinct segment_id from ml.customer_segments")
    summary = demo_warehouse.query("select * from ml.segment_cross_sell_summary")
    assert sorted(summary["segment_id"]) == sorted(segments["segment_id"])
    assert summary["cross_sell_categories"].str.len().gt(0).all()
    opportunities = demo_warehouse.query("select * from ml.segment_cross_sell")
    assert len(opportunities) > 0
    assert (opportunities["spend_index"] < 0.9).all()
    assert (opportunities["target_customers"] >= 5).all()
    assert (opportunities["best_lift"] > 1).all()
    mix = demo_warehouse.query("select * from ml.segment_category_mix")
    shares = mix.groupby("segment_id")["spend_share"].sum()
    assert shares.to_numpy() == pytest.approx(1.0)
    for row in opportunities.itertuples(index=False):
        line = summary.set_index("segment_id").loc[row.segment_id, "cross_sell_categories"]
        assert row.category in line


def test_the_evaluation_is_reused_while_its_inputs_are_unchanged(
    demo_warehouse: RefreshedWarehouse, tmp_path: Path
) -> None:
    """The historical cutoff moves weekly, so most days evaluate the same purchases again: the
    next day reuses the stored evaluation, and a changed input evaluates afresh."""
    from orchestration.defs.recommendations import EVALUATION

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse.warehouse_path, warehouse)
    evaluation_sql = (
        "select * from ml.recommendation_evaluation where as_of_date = ? order by method"
    )

    def next_day(change: str | None = None) -> tuple[object, dict]:
        con = duckdb.connect(str(warehouse))
        try:
            con.execute("update marts.run_context set as_of_date = as_of_date + 1")
            if change:
                con.execute(change)
            as_of = con.execute("select as_of_date from marts.run_context").fetchone()[0]
        finally:
            con.close()
        run = refresh(demo_warehouse.landing_dir, warehouse, asset_selection=[EVALUATION])
        return as_of, materialization(run.result, "ml/recommendation_evaluation")

    first = demo_warehouse.query("select as_of_date from marts.run_context")["as_of_date"].item()
    first = pd.Timestamp(first).date()
    before = query(warehouse, evaluation_sql, [first])
    assert before["customers_evaluated"].iloc[0] > 50

    as_of, metadata = next_day()
    assert metadata["reused_from_as_of"].value == str(first)
    reused = query(warehouse, evaluation_sql, [as_of])
    pd.testing.assert_frame_equal(
        reused.drop(columns="as_of_date"), before.drop(columns="as_of_date")
    )

    # One evaluated customer's new categories disappear: the inputs differ, so it runs again.
    dropped = (
        "delete from marts.customer_new_categories where customer_id = "
        "(select min(customer_id) from marts.customer_new_categories n "
        " join intermediate.int_category_cutoffs c on n.cutoff_date = c.cutoff_date "
        " where not c.is_current and customer_id in (select customer_id "
        "  from marts.customer_category_snapshots s where s.cutoff_date = c.cutoff_date))"
    )
    as_of, metadata = next_day(dropped)
    assert metadata["reused_from_as_of"].value == ""
    again = query(warehouse, evaluation_sql, [as_of])
    assert (again["customers_evaluated"] == before["customers_evaluated"] - 1).all()
    assert set(again["inputs_fingerprint"]).isdisjoint(before["inputs_fingerprint"])
