"""Recommendation ML on its own: no Dagster, no dbt, hand-computed and synthetic histories."""

import math

import numpy as np
import pandas as pd
import pytest

from ml.recommendations import (
    AssociationRecommender,
    ItemSimilarityRecommender,
    PopularityRecommender,
    PurchaseHistory,
    evaluate_recommenders,
    recommend,
)
from ml.recommendations.evaluation import hit_rate
from ml.recommendations.reasons import explain, reason
from ml.recommendations.segments import (
    cross_sell_opportunities,
    cross_sell_summary,
    segment_category_mix,
)


def purchases(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """customer_category_affinity-shaped rows from (customer, category, affinity)."""
    frame = pd.DataFrame(rows, columns=["customer_id", "category", "affinity"])
    frame["spend"] = frame["affinity"] * 100
    return frame


def rules(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["antecedent", "consequent", "confidence", "lift"])


# A bought Shoes (affinity 0.75) and Books (0.25); B bought Books; C bought everything.
HISTORY = purchases(
    [
        ("A", "Shoes", 0.75),
        ("A", "Books", 0.25),
        ("B", "Books", 1.0),
        ("C", "Shoes", 0.25),
        ("C", "Books", 0.25),
        ("C", "Socks", 0.25),
        ("C", "Toys", 0.25),
    ]
)
RULES = rules(
    [
        ("Shoes", "Socks", 0.6, 2.0),
        ("Books", "Socks", 0.2, 1.5),
        ("Books", "Toys", 0.5, 0.8),  # lift below 1: popularity in disguise, not used
    ]
)


def test_association_score_is_the_affinity_weighted_noisy_or_of_confidences() -> None:
    history = PurchaseHistory(HISTORY)
    model = AssociationRecommender().fit(history, RULES)
    ranked = recommend(model, history, history.buyer_share(), k=3)
    a = ranked[ranked["customer_id"] == "A"].set_index("category")
    # Shoes weighs 1 (A's favourite), Books 0.25 / 0.75 = 1/3.
    assert a.loc["Socks", "score"] == pytest.approx(1 - (1 - 0.6) * (1 - 0.2 / 3))
    assert a.loc["Socks", "antecedent"] == "Shoes"  # the strongest contribution
    assert a.loc["Socks", "basis"] == "association"
    # Toys has only a rule with lift below 1: ranked by popularity (1 of 3 customers), after Socks.
    assert a.loc["Toys", "basis"] == "popularity"
    assert a.loc["Toys", "score"] == pytest.approx(1 / 3)
    assert a["rank"].tolist() == [1, 2]
    b = ranked[ranked["customer_id"] == "B"].set_index("category")
    assert b.loc["Socks", "score"] == pytest.approx(0.2)  # Books is B's favourite: weight 1


def test_nothing_already_bought_and_nobody_without_purchases() -> None:
    rng = np.random.default_rng(3)
    categories = [f"cat{i:02d}" for i in range(15)]
    rows = [
        (f"C{c:03d}", category, float(rng.random()) + 0.01)
        for c in range(300)
        for category in rng.choice(categories, rng.integers(1, 8), replace=False)
    ]
    frame = purchases(rows)
    history = PurchaseHistory(frame)
    random_rules = rules(
        [
            (a, b, float(rng.random()), 1 + float(rng.random()))
            for a in categories
            for b in categories
            if a != b
        ]
    )
    bought = set(zip(frame["customer_id"], frame["category"], strict=True))
    for model in (AssociationRecommender(), ItemSimilarityRecommender(), PopularityRecommender()):
        ranked = recommend(model.fit(history, random_rules), history, history.buyer_share(), k=3)
        pairs = set(zip(ranked["customer_id"], ranked["category"], strict=True))
        assert not pairs & bought, model.name
        assert ranked.groupby("customer_id")["rank"].apply(list).map(lambda r: r == [1, 2, 3]).all()
    # A customer absent from the history (no order lines) gets nothing; so does C, who has
    # bought every category there is.
    small = PurchaseHistory(HISTORY)
    ranked = recommend(AssociationRecommender().fit(small, RULES), small, small.buyer_share())
    assert "C" not in set(ranked["customer_id"])
    assert "nobody" not in set(ranked["customer_id"])


def test_empty_history_gives_empty_results_not_errors() -> None:
    empty = purchases([])
    history = PurchaseHistory(empty)
    for model in (AssociationRecommender(), ItemSimilarityRecommender(), PopularityRecommender()):
        ranked = recommend(model.fit(history, rules([])), history, history.buyer_share())
        assert ranked.empty and list(ranked.columns)[:3] == ["customer_id", "rank", "category"]
    evaluation = evaluate_recommenders(
        history,
        rules([]),
        pd.DataFrame(columns=["customer_id", "category"]),
        [AssociationRecommender()],
    )
    assert evaluation.customers == 0 and not evaluation.beats_popularity
    assert "nothing to evaluate" in evaluation.note


def test_popularity_ranks_by_share_of_buyers_then_by_name() -> None:
    history = PurchaseHistory(
        purchases(
            [
                ("A", "Toys", 1.0),
                ("B", "Toys", 1.0),
                ("B", "Books", 1.0),
                ("C", "Apples", 1.0),
                ("D", "Pens", 1.0),
            ]
        )
    )
    model = PopularityRecommender().fit(history)
    ranked = recommend(model, history, model.buyer_share_, k=3)
    d = ranked[ranked["customer_id"] == "D"]
    # Toys: 2 of 4 customers; Apples and Books 1 of 4 each (alphabetical).
    assert d["category"].tolist() == ["Toys", "Apples", "Books"]
    assert d["score"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert (d["basis"] == "popularity").all() and d["antecedent"].isna().all()


def test_item_similarity_is_cosine_over_who_bought_what() -> None:
    # Shoes: A, B, C; Socks: A, B; Books: C, D.
    history = PurchaseHistory(
        purchases(
            [
                ("A", "Shoes", 0.5),
                ("A", "Socks", 0.5),
                ("B", "Shoes", 0.5),
                ("B", "Socks", 0.5),
                ("C", "Shoes", 0.5),
                ("C", "Books", 0.5),
                ("D", "Books", 1.0),
            ]
        )
    )
    model = ItemSimilarityRecommender().fit(history)
    similarity = pd.DataFrame(
        model.similarity_, index=history.categories, columns=history.categories
    )
    assert similarity.loc["Shoes", "Socks"] == pytest.approx(2 / math.sqrt(3 * 2))
    assert similarity.loc["Shoes", "Books"] == pytest.approx(1 / math.sqrt(3 * 2))
    assert similarity.loc["Socks", "Books"] == 0 and similarity.loc["Shoes", "Shoes"] == 0
    ranked = recommend(model, history, history.buyer_share(), k=2)
    d = ranked[ranked["customer_id"] == "D"].iloc[0]
    assert (d["category"], d["antecedent"], d["basis"]) == ("Shoes", "Books", "item_similarity")


def test_reason_wording() -> None:
    assert (
        reason("association", "Running shoes", "Socks", 0.55, 0.3)
        == "bought Running shoes; 55% of such buyers add Socks"
    )
    assert (
        reason("item_similarity", "Camera", "Toys", None, 0.3)
        == "bought Camera; buyers of Camera often buy Toys too"
    )
    assert reason("popularity", None, "Books", None, 0.334) == (
        "popular: 33% of customers have bought Books"
    )
    history = PurchaseHistory(HISTORY)
    model = AssociationRecommender().fit(history, RULES)
    ranked = recommend(model, history, history.buyer_share())
    explained = explain(ranked, RULES, pd.Series(history.buyer_share(), index=history.categories))
    socks = explained[(explained["customer_id"] == "A") & (explained["category"] == "Socks")]
    assert socks["reason"].item() == "bought Shoes; 60% of such buyers add Socks"
    assert socks["confidence"].item() == 0.6 and socks["lift"].item() == 2.0


def test_hit_rate_counts_customers_with_a_new_category_in_the_top_k() -> None:
    recommendations = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B", "B", "C"],
            "rank": [1, 2, 3, 1, 2, 1],
            "category": ["Socks", "Toys", "Books", "Toys", "Socks", "Books"],
        }
    )
    new = pd.DataFrame({"customer_id": ["A", "B", "D"], "category": ["Books", "Toys", "Pens"]})
    customers = pd.Index(["A", "B", "D"])  # C bought nothing new: not evaluated
    assert hit_rate(recommendations, new, customers, k=1) == pytest.approx(1 / 3)  # B
    assert hit_rate(recommendations, new, customers, k=3) == pytest.approx(2 / 3)  # A and B


def planted_history(n_customers: int, seed: int, after: bool) -> pd.DataFrame:
    """Customers pick 1-3 of 6 anchor categories; an anchor's partner follows with 70% (a
    customer may not have added it yet). `after`: the categories bought in a later window."""
    rng = np.random.default_rng(seed)
    anchors = ["Camera", "Coffee", "Shoes", "Yoga", "Books", "Toys"]
    partner = {"Camera": "Memory cards", "Coffee": "Filters", "Shoes": "Socks", "Yoga": "Bottles"}
    rows = []
    for c in range(n_customers):
        chosen = rng.choice(anchors, rng.integers(1, 4), replace=False)
        for anchor in chosen:
            rows.append((f"C{c:04d}", anchor, "before"))
            if anchor in partner:
                when = (
                    "before" if rng.random() < 0.7 else ("after" if rng.random() < 0.8 else "never")
                )
                if when != "never":
                    rows.append((f"C{c:04d}", partner[anchor], when))
        if rng.random() < 0.3:
            rows.append((f"C{c:04d}", rng.choice(anchors), "after"))
    frame = pd.DataFrame(rows, columns=["customer_id", "category", "when"]).drop_duplicates(
        ["customer_id", "category"]
    )
    return frame[frame["when"] == ("after" if after else "before")]


def _rules_from(history: pd.DataFrame) -> pd.DataFrame:
    """Customer-level rules, the way the dbt mart computes them (tested there by hand)."""
    buyers = history["customer_id"].nunique()
    count = history.groupby("category")["customer_id"].nunique()
    pairs = history.merge(history, on="customer_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["category_a"] != pairs["category_b"]]
    both = pairs.groupby(["category_a", "category_b"]).size().rename("both").reset_index()
    both["confidence"] = both["both"] / both["category_a"].map(count)
    both["lift"] = both["confidence"] / (both["category_b"].map(count) / buyers)
    return both.rename(columns={"category_a": "antecedent", "category_b": "consequent"})


def test_evaluation_prefers_the_rules_over_popularity_when_pairs_are_planted() -> None:
    before = planted_history(1500, seed=11, after=False).assign(affinity=1.0)
    after = planted_history(1500, seed=11, after=True)
    evaluation = evaluate_recommenders(
        PurchaseHistory(before),
        _rules_from(before),
        after,
        [AssociationRecommender(), ItemSimilarityRecommender()],
    )
    metrics = evaluation.metrics.set_index("method")
    assert evaluation.selected in {"association", "item_similarity"}
    assert metrics.loc[evaluation.selected, "selected"]
    assert evaluation.beats_popularity
    assert evaluation.margin(3) == pytest.approx(
        metrics.loc[evaluation.selected, "hit_at_3"] - metrics.loc["popularity", "hit_at_3"]
    )
    assert (metrics["hit_at_10"] >= metrics["hit_at_3"]).all()
    assert evaluation.customers == after["customer_id"].nunique() - len(
        set(after["customer_id"]) - set(before["customer_id"])
    )


def test_popularity_is_kept_when_no_model_beats_it() -> None:
    # Book buyers go on to buy the popular Toys, but the rules point them to stationery.
    before = purchases([(f"C{i}", "Toys" if i % 2 else "Books", 1.0) for i in range(20)])
    stationery = ["Ink", "Paper", "Pens"]
    before = pd.concat([before, purchases([("P1", c, 1.0) for c in ["Books", *stationery]])])
    after = pd.DataFrame({"customer_id": [f"C{i}" for i in range(0, 20, 2)], "category": "Toys"})
    misleading = rules([("Books", c, 0.9, 3.0) for c in stationery])
    evaluation = evaluate_recommenders(
        PurchaseHistory(before), misleading, after, [AssociationRecommender()]
    )
    assert evaluation.selected == "popularity"
    assert not evaluation.beats_popularity
    assert "no model beats popularity" in evaluation.note


def test_segment_index_and_cross_sell_opportunities() -> None:
    # Segment 1 spends 10% on Socks, the population 25%: index 0.4. Its Shoes buyers without
    # Socks are the cross-sell target.
    rows = [
        ("A", "Shoes", 90.0),
        ("A", "Socks", 10.0),
        ("B", "Shoes", 100.0),
        ("C", "Shoes", 100.0),
        ("D", "Shoes", 40.0),
        ("D", "Socks", 60.0),
    ]
    spend = pd.DataFrame(rows, columns=["customer_id", "category", "spend"])
    spend["affinity"] = spend["spend"] / spend.groupby("customer_id")["spend"].transform("sum")
    segments = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E"],
            "segment_id": [1, 1, 2, 2, 2],
            "segment_name": ["Shoe fans", "Shoe fans", "Mixed", "Mixed", "Mixed"],
        }
    )
    mix = segment_category_mix(spend, segments).set_index(["segment_id", "category"])
    assert mix.loc[(1, "Socks"), "spend_share"] == pytest.approx(10 / 200)
    assert mix.loc[(1, "Socks"), "population_spend_share"] == pytest.approx(70 / 400)
    assert mix.loc[(1, "Socks"), "spend_index"] == pytest.approx((10 / 200) / (70 / 400))
    assert mix.loc[(1, "Socks"), "penetration"] == pytest.approx(1 / 2)
    assert mix.loc[(2, "Shoes"), "segment_buyers"] == 2  # E bought nothing

    shoes_socks = rules([("Shoes", "Socks", 0.5, 2.0)])
    opportunities = cross_sell_opportunities(
        mix.reset_index(), spend, segments, shoes_socks, min_target_customers=1
    )
    assert opportunities[["segment_id", "category"]].values.tolist() == [[1, "Socks"]]
    found = opportunities.iloc[0]
    assert found["target_customers"] == 1  # B: bought Shoes, not Socks
    assert found["expected_buyers"] == pytest.approx(0.5)
    assert found["best_antecedent"] == "Shoes"
    assert (
        "1 customers could add it (bought Shoes; 50% of such buyers add Socks)" in found["reason"]
    )
    summary = cross_sell_summary(opportunities, segments).set_index("segment_id")
    assert summary.loc[1, "cross_sell_categories"] == "Socks (index 0.29, 1 customers)"
    assert summary.loc[2, "cross_sell_categories"].startswith("none")
