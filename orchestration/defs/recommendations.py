"""Purchase-pattern assets: the time-based evaluation that picks the recommender, the top
categories per customer with a reason, and cross-sell opportunities per segment.

The association rules and category affinities are dbt marts; the ML lives in
`ml.recommendations`. These assets read the marts, call it, write to the warehouse's `ml`
schema and show hit rates, rules and charts in the UI. Without order lines in the landing data
they materialise empty tables and say why.
"""

import hashlib
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

import ml.recommendations
from ml.recommendations import (
    AssociationRecommender,
    ItemSimilarityRecommender,
    PopularityRecommender,
    PurchaseHistory,
    evaluate_recommenders,
    recommend,
)
from ml.recommendations.evaluation import HIT_RATE_KS, RecommendationEvaluation
from ml.recommendations.ranking import Recommender
from ml.recommendations.reasons import explain
from ml.recommendations.segments import (
    cross_sell_opportunities,
    cross_sell_summary,
    segment_category_mix,
)
from ml.reporting.charts import bar_chart, hit_rate_chart
from orchestration.defs import recommendation_tables as tables
from orchestration.defs.landing import DATA_SCIENCE_OWNERS as OWNERS
from orchestration.defs.resources import WAREHOUSE_POOL
from orchestration.defs.segmentation import CUSTOMER_SEGMENTS
from orchestration.defs.warehouse import markdown_table, replace_rows, table_metadata, write_table

GROUP = "recommendations"
ORDER_LINES = dg.AssetKey(["staging", "stg_landing__order_items"])
CATEGORY_CUTOFFS = dg.AssetKey(["intermediate", "int_category_cutoffs"])
CATEGORY_SNAPSHOTS = dg.AssetKey(["marts", "customer_category_snapshots"])
ASSOCIATION_SNAPSHOTS = dg.AssetKey(["marts", "category_association_snapshots"])
NEW_CATEGORIES = dg.AssetKey(["marts", "customer_new_categories"])
AFFINITY = dg.AssetKey(["marts", "customer_category_affinity"])
ASSOCIATIONS = dg.AssetKey(["marts", "category_associations"])
RUN_CONTEXT = dg.AssetKey(["marts", "run_context"])
EVALUATION = dg.AssetKey(["ml", "recommendation_evaluation"])
CUSTOMER_RECOMMENDATIONS = dg.AssetKey(["ml", "customer_recommendations"])
SEGMENT_CROSS_SELL = dg.AssetKey(["ml", "segment_cross_sell"])

NO_ORDER_LINES = "no order lines in the landing data: recommendations skipped"
NO_PURCHASES = "no order lines of completed orders before the as-of date: recommendations skipped"


class RecommendationConfig(dg.Config):
    """Recommendation settings, editable in the launchpad."""

    min_lift: float = Field(
        default=1.0,
        description="Association rules are used only with a lift above this (1 = independence).",
    )
    recommendations_per_customer: int = Field(
        default=3, description="Categories recommended to each customer."
    )


class CrossSellConfig(dg.Config):
    """Cross-sell settings, editable in the launchpad."""

    min_lift: float = Field(
        default=1.0, description="Association rules are used only with a lift above this."
    )
    max_index: float = Field(
        default=0.9,
        description="A segment under-buys a category when its spend share is below this "
        "multiple of the population's (index = segment share / population share).",
    )
    min_target_customers: int = Field(
        default=5,
        description="An opportunity needs this many customers in the segment who bought an "
        "associated category but not this one.",
    )
    opportunities_per_segment: int = Field(
        default=3, description="Opportunities listed per segment."
    )


def nothing_to_recommend(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why there is nothing to recommend from, or None when there is."""
    if con.execute("select count(*) from staging.stg_landing__order_items").fetchone()[0] == 0:
        return NO_ORDER_LINES
    if con.execute("select count(*) from marts.customer_category_affinity").fetchone()[0] == 0:
        return NO_PURCHASES
    return None


def write_ml_table(
    con: duckdb.DuckDBPyConnection, table: tables.Table, frame: pd.DataFrame
) -> None:
    write_table(con, table.name, frame, types=table.types)


def write_history(
    con: duckdb.DuckDBPyConnection, table: tables.Table, frame: pd.DataFrame, as_of: date
) -> None:
    replace_rows(con, table.name, frame, "as_of_date", as_of, types=table.types)


def write_metadata(con: duckdb.DuckDBPyConnection, table: tables.Table) -> dict[str, object]:
    schema, name = table.name.split(".")
    return table_metadata(con, schema, name, descriptions=table.descriptions)


def read_as_of(con: duckdb.DuckDBPyConnection) -> date:
    return con.execute("select as_of_date from marts.run_context").fetchone()[0]


def selected_method(con: duckdb.DuckDBPyConnection, as_of: date) -> str:
    """The method the evaluation chose for this as-of date; association rules before any
    evaluation ran (the asset materialised on its own)."""
    evaluated = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ml' and table_name = 'recommendation_evaluation'"
    ).fetchone()[0]
    if not evaluated:
        return "association"
    selected = con.execute(
        "select method from ml.recommendation_evaluation where as_of_date = ? and selected",
        [as_of],
    ).fetchone()
    return selected[0] if selected else "association"


def make_recommender(method: str, min_lift: float) -> Recommender:
    recommenders: dict[str, Recommender] = {
        "association": AssociationRecommender(min_lift=min_lift),
        "item_similarity": ItemSimilarityRecommender(),
        "popularity": PopularityRecommender(),
    }
    return recommenders[method]


@dg.asset(
    key=EVALUATION,
    deps=[CATEGORY_SNAPSHOTS, ASSOCIATION_SNAPSHOTS, NEW_CATEGORIES, CATEGORY_CUTOFFS, ORDER_LINES],
    group_name=GROUP,
    kinds={"sklearn", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Time-based evaluation of the recommenders: association rules and item-item cosine "
        "similarity are fitted on purchases before the newest historical cutoff and ranked "
        "against the categories each customer bought for the first time in the window after "
        "it (hit rate@3 and @10), next to a popularity baseline on the same customers. The "
        "best model is used if it beats popularity at @3. Appends to ml.recommendation_evaluation "
        "(re-running an as-of date replaces it)."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "model_beats_popularity",
            asset=EVALUATION,
            description="The best recommender's hit rate@3 is above the popularity baseline's.",
        )
    ],
)
def recommendation_evaluation(
    context: dg.AssetExecutionContext, config: RecommendationConfig, warehouse: DuckDBResource
):
    with warehouse.get_connection() as con:
        as_of = read_as_of(con)
        skipped = nothing_to_recommend(con)
        cutoff = con.execute(
            "select cutoff_date, evaluation_window_end from intermediate.int_category_cutoffs "
            "where not is_current"
        ).fetchone()
        cutoff_date, window_end = cutoff if cutoff else (None, None)
        fingerprint = evaluation_fingerprint(
            con, cutoff_date, [window_end, config.min_lift, skipped]
        )
        earlier = earlier_evaluation(con, fingerprint)
        if earlier is None:
            purchases, rules, new_categories = (
                con.execute(_input_sql(table), [cutoff_date]).df() for table in EVALUATION_INPUTS
            )
    if earlier is None:
        evaluation = evaluate_recommenders(
            PurchaseHistory(purchases),
            rules,
            new_categories,
            [AssociationRecommender(min_lift=config.min_lift), ItemSimilarityRecommender()],
        )
        note, reused_from = skipped or evaluation.note, None
    else:
        # The inputs did not change since that as-of date (the cutoff moves weekly): the same
        # fits on the same purchases give the same hit rates, so they are carried over.
        evaluation = RecommendationEvaluation.from_history(earlier)
        note, reused_from = evaluation.note, pd.Timestamp(earlier["as_of_date"].iloc[0]).date()
        context.log.info(f"evaluation inputs unchanged since {reused_from}: reused")
    context.log.info(note)
    table = evaluation.metrics.assign(
        as_of_date=as_of,
        evaluation_cutoff=cutoff_date,
        window_end=window_end,
        customers_evaluated=evaluation.customers,
        note=note,
        inputs_fingerprint=fingerprint,
    )
    with warehouse.get_connection() as con:
        write_history(con, tables.RECOMMENDATION_EVALUATION, table, as_of)
        metadata = write_metadata(con, tables.RECOMMENDATION_EVALUATION)
    metadata = {
        **metadata,
        **_evaluation_metadata(evaluation, note, cutoff_date, window_end),
        # Empty when the evaluation ran on this as-of date.
        "reused_from_as_of": str(reused_from or ""),
    }
    yield dg.MaterializeResult(metadata=metadata)
    # Without order lines nothing is recommended, so there is nothing to beat: the check
    # passes and says it was skipped (a check result is required on every run).
    yield dg.AssetCheckResult(
        check_name="model_beats_popularity",
        asset_key=EVALUATION,
        passed=bool(skipped) or evaluation.beats_popularity,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "selected": evaluation.selected,
            "margin_hit_at_3": evaluation.margin(3),
            "customers_evaluated": evaluation.customers,
            "skipped": skipped or "",
        },
        description=f"skipped: {skipped}" if skipped else evaluation.note,
    )


# What the evaluation reads at the historical cutoff: table -> (columns, order).
EVALUATION_INPUTS = {
    "marts.customer_category_snapshots": (
        "customer_id, category, affinity",
        "customer_id, category",
    ),
    "marts.category_association_snapshots": (
        "antecedent, consequent, confidence, lift",
        "antecedent, consequent",
    ),
    "marts.customer_new_categories": ("customer_id, category", "customer_id, category"),
}
_RECOMMENDATION_CODE = Path(ml.recommendations.__file__).parent


def _input_sql(table: str) -> str:
    columns, order = EVALUATION_INPUTS[table]
    return f"select {columns} from {table} where cutoff_date = ? order by {order}"


def evaluation_fingerprint(
    con: duckdb.DuckDBPyConnection, cutoff_date: date | None, settings: list[object]
) -> str:
    """SHA-256 of everything the evaluation depends on: the input rows at the cutoff (count and
    an order-independent sum of row hashes, computed in DuckDB without reading them out), the
    settings, and the source of ml.recommendations (a code change re-evaluates)."""
    digest = hashlib.sha256(repr([cutoff_date, *settings]).encode())
    for table, (columns, _) in EVALUATION_INPUTS.items():
        rows, hashed = con.execute(
            f"select count(*), coalesce(sum(hash({columns})), 0)::varchar "
            f"from {table} where cutoff_date = ?",
            [cutoff_date],
        ).fetchone()
        digest.update(f"{table}:{rows}:{hashed};".encode())
    for path in sorted(_RECOMMENDATION_CODE.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def earlier_evaluation(con: duckdb.DuckDBPyConnection, fingerprint: str) -> pd.DataFrame | None:
    """The latest stored evaluation with these inputs (None if there is none, or the table was
    written before fingerprints were kept)."""
    stored = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'ml' "
        "and table_name = 'recommendation_evaluation' and column_name = 'inputs_fingerprint'"
    ).fetchone()[0]
    if not stored:
        return None
    rows = con.execute(
        "select * from ml.recommendation_evaluation where inputs_fingerprint = ? "
        "qualify as_of_date = max(as_of_date) over () order by rank nulls last, method",
        [fingerprint],
    ).df()
    return None if rows.empty else rows


def _evaluation_metadata(
    evaluation: RecommendationEvaluation,
    note: str,
    cutoff_date: date | None,
    window_end: date | None,
) -> dict[str, object]:
    shown = evaluation.metrics[
        ["method", "role", *[f"hit_at_{k}" for k in HIT_RATE_KS]]
        + [f"margin_hit_at_{k}" for k in HIT_RATE_KS]
        + ["selected", "description"]
    ]
    out: dict[str, object] = {
        "selected": evaluation.selected,
        "note": note,
        "evaluation_cutoff": str(cutoff_date),
        "window_end": str(window_end),
        "customers_evaluated": evaluation.customers,
        "margin_hit_at_3": evaluation.margin(3),
        "margin_hit_at_10": evaluation.margin(10),
        "hit_rates": dg.MetadataValue.md(markdown_table(shown)),
    }
    if evaluation.customers:
        out["hit_rate_chart"] = dg.MetadataValue.md(
            hit_rate_chart(
                evaluation.metrics,
                HIT_RATE_KS,
                f"New categories bought after {cutoff_date}: hit rate by method",
            )
        )
    return out


@dg.asset(
    key=CUSTOMER_RECOMMENDATIONS,
    deps=[EVALUATION, AFFINITY, ASSOCIATIONS, RUN_CONTEXT],
    group_name=GROUP,
    kinds={"sklearn", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "The top categories each customer has not bought yet, scored from their purchase "
        "history as of the as-of date by the recommender the evaluation selected, with the "
        "reason in words ('bought Running shoes; 88% of such buyers add Socks'). Categories no "
        "rule points to are filled by popularity and say so. Customers without order lines get "
        "none."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "no_already_bought_category",
            asset=CUSTOMER_RECOMMENDATIONS,
            description="No customer is recommended a category they bought before the as-of date.",
        )
    ],
)
def customer_recommendations(
    context: dg.AssetExecutionContext, config: RecommendationConfig, warehouse: DuckDBResource
):
    with warehouse.get_connection() as con:
        as_of = read_as_of(con)
        skipped = nothing_to_recommend(con)
        method = selected_method(con, as_of)
        purchases = con.execute(
            "select customer_id, category, affinity from marts.customer_category_affinity "
            "order by customer_id, category"
        ).df()
        rules = con.execute(
            "select * from marts.category_associations order by antecedent, consequent"
        ).df()
    history = PurchaseHistory(purchases)
    popularity = history.buyer_share()
    recommender = make_recommender(method, config.min_lift).fit(history, rules)
    ranked = recommend(recommender, history, popularity, k=config.recommendations_per_customer)
    explained = explain(ranked, rules, pd.Series(popularity, index=history.categories))
    recommendations = pd.DataFrame(
        {
            "customer_id": explained["customer_id"],
            "as_of_date": as_of,
            "rank": explained["rank"].astype("int32"),
            "category": explained["category"],
            "score": explained["score"].round(4),
            "basis": explained["basis"],
            "because_of": explained["antecedent"].astype("object"),
            "confidence": explained["confidence"].round(4),
            "lift": explained["lift"].round(4),
            "reason": explained["reason"],
            "method": method,
        }
    )
    with warehouse.get_connection() as con:
        write_ml_table(con, tables.CUSTOMER_RECOMMENDATIONS, recommendations)
        metadata = write_metadata(con, tables.CUSTOMER_RECOMMENDATIONS)
        already_bought = con.execute(
            "select count(*) from ml.customer_recommendations as recommended "
            "join marts.customer_category_affinity as bought using (customer_id, category)"
        ).fetchone()[0]
    context.log.info(skipped or f"{recommendations['customer_id'].nunique()} customers, {method}")
    yield dg.MaterializeResult(
        metadata={
            **metadata,
            **_recommendation_metadata(
                recommendations, rules, method, skipped, len(history), config.min_lift
            ),
        }
    )
    yield dg.AssetCheckResult(
        check_name="no_already_bought_category",
        asset_key=CUSTOMER_RECOMMENDATIONS,
        passed=already_bought == 0,
        metadata={"already_bought_recommendations": already_bought},
        description=f"skipped: {skipped}" if skipped else None,
    )


def _recommendation_metadata(
    recommendations: pd.DataFrame,
    rules: pd.DataFrame,
    method: str,
    skipped: str | None,
    customers_with_purchases: int,
    min_lift: float,
) -> dict[str, object]:
    if skipped:
        return {"skipped": skipped, "method": method}
    basis = recommendations["basis"].value_counts().rename_axis("basis").reset_index(name="rows")
    top_rules = (
        rules[rules["lift"] > min_lift]
        .sort_values(
            ["lift", "confidence", "antecedent", "consequent"], ascending=[False, False, True, True]
        )
        .head(15)
    )
    first_choice = recommendations[recommendations["rank"] == 1]["category"].value_counts()
    return {
        "method": method,
        "customers_with_purchases": customers_with_purchases,
        "customers_recommended": int(recommendations["customer_id"].nunique()),
        "recommendations_by_basis": dg.MetadataValue.md(markdown_table(basis)),
        "top_association_rules": dg.MetadataValue.md(
            markdown_table(
                top_rules[
                    [
                        "antecedent",
                        "consequent",
                        "customers_with_both",
                        "support",
                        "confidence",
                        "lift",
                        "basket_confidence",
                    ]
                ]
            )
        ),
        "top_rules_chart": dg.MetadataValue.md(
            bar_chart(
                [
                    f"{a} -> {c}"
                    for a, c in zip(top_rules["antecedent"], top_rules["consequent"], strict=True)
                ],
                top_rules["lift"].tolist(),
                "Strongest category association rules",
                "lift (1 = independent)",
            )
        ),
        "first_choice_categories": dg.MetadataValue.md(
            markdown_table(first_choice.rename_axis("category").reset_index(name="customers"))
        ),
        # Aggregates only: the run history is not covered by erasure, so no customer ids.
        "most_common_reasons": dg.MetadataValue.md(
            markdown_table(
                recommendations[recommendations["basis"] != "popularity"]["reason"]
                .value_counts()
                .head(10)
                .rename_axis("reason")
                .reset_index(name="recommendations")
            )
        ),
    }


@dg.asset(
    key=SEGMENT_CROSS_SELL,
    deps=[CUSTOMER_SEGMENTS, AFFINITY, ASSOCIATIONS, RUN_CONTEXT, ORDER_LINES],
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    description=(
        "Per segment: the category mix against the population (index = segment spend share / "
        "population spend share) in ml.segment_category_mix, and the categories the segment "
        "under-buys although association rules tie them to what its customers buy, ranked by "
        "expected buyers, in ml.segment_cross_sell; one text line per segment "
        "(cross_sell_categories) in ml.segment_cross_sell_summary, to join to segment profiles."
    ),
)
def segment_cross_sell(
    context: dg.AssetExecutionContext, config: CrossSellConfig, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        as_of = read_as_of(con)
        skipped = nothing_to_recommend(con)
        purchases = con.execute(
            "select customer_id, category, spend, affinity from marts.customer_category_affinity "
            "order by customer_id, category"
        ).df()
        rules = con.execute(
            "select antecedent, consequent, confidence, lift from marts.category_associations "
            "order by antecedent, consequent"
        ).df()
        segments = con.execute(
            "select customer_id, segment_id, segment_name from ml.customer_segments "
            "order by customer_id"
        ).df()
    mix = segment_category_mix(purchases, segments)
    opportunities = cross_sell_opportunities(
        mix,
        purchases,
        segments,
        rules,
        max_index=config.max_index,
        min_lift=config.min_lift,
        min_target_customers=config.min_target_customers,
        per_segment=config.opportunities_per_segment,
    )
    summary = cross_sell_summary(opportunities, segments)
    if skipped:
        summary["cross_sell_categories"] = skipped
    with warehouse.get_connection() as con:
        write_ml_table(con, tables.SEGMENT_CATEGORY_MIX, mix.assign(as_of_date=as_of))
        write_ml_table(con, tables.SEGMENT_CROSS_SELL, opportunities.assign(as_of_date=as_of))
        write_ml_table(con, tables.SEGMENT_CROSS_SELL_SUMMARY, summary.assign(as_of_date=as_of))
        metadata = write_metadata(con, tables.SEGMENT_CROSS_SELL)
    context.log.info(skipped or f"{len(opportunities)} cross-sell opportunities")
    if skipped:
        return dg.MaterializeResult(metadata={**metadata, "skipped": skipped})
    shown = opportunities[
        ["segment_name", "category", "spend_index", "target_customers", "expected_buyers", "reason"]
    ]
    out: dict[str, object] = {
        **metadata,
        "opportunities": len(opportunities),
        "cross_sell_opportunities": dg.MetadataValue.md(markdown_table(shown, "{:,.2f}")),
        "cross_sell_by_segment": dg.MetadataValue.md(markdown_table(summary)),
    }
    if len(opportunities):
        out["expected_buyers_chart"] = dg.MetadataValue.md(
            bar_chart(
                [
                    f"{s}: {c}"
                    for s, c in zip(shown["segment_name"], shown["category"], strict=True)
                ],
                shown["expected_buyers"].tolist(),
                "Cross-sell opportunities by segment",
                "expected buyers (sum of association scores)",
            )
        )
    return dg.MaterializeResult(metadata=out)


RECOMMENDATION_ASSETS = [recommendation_evaluation, customer_recommendations, segment_cross_sell]
