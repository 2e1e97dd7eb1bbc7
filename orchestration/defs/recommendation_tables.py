"""The `ml` tables the recommendation assets write: column, SQL type and the description shown
in the Dagster UI. Writing with these types keeps an empty table (no order lines) typed, so BI
queries and joins work on every data set."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, tuple[str, str]]  # column -> (SQL type, description)

    @property
    def types(self) -> dict[str, str]:
        return {column: sql_type for column, (sql_type, _) in self.columns.items()}

    @property
    def descriptions(self) -> dict[str, str]:
        return {column: text for column, (_, text) in self.columns.items()}


AS_OF = ("DATE", "The as-of date: everything uses purchases strictly before it.")
CUSTOMER_ID = ("VARCHAR", "The customer's id as in the landing files.")
SEGMENT_ID = ("INTEGER", "The segment's id in ml.customer_segments.")
SEGMENT_NAME = ("VARCHAR", "The segment's name in ml.customer_segments.")

CUSTOMER_RECOMMENDATIONS = Table(
    "ml.customer_recommendations",
    {
        "customer_id": CUSTOMER_ID,
        "as_of_date": AS_OF,
        "rank": ("INTEGER", "1 = the strongest recommendation for the customer."),
        "category": ("VARCHAR", "A category the customer has not bought before the as-of date."),
        "score": (
            "DOUBLE",
            "association: estimated chance the customer adds it (noisy-or of the rule "
            "confidences, weighted by affinity); item_similarity: affinity-weighted sum of "
            "category similarities; popularity: share of customers who bought it.",
        ),
        "basis": (
            "VARCHAR",
            "What ranked it: the model's evidence (association or item_similarity) or, "
            "where no bought category points to it, popularity (ranked after the others).",
        ),
        "because_of": ("VARCHAR", "The bought category behind it (null for popularity)."),
        "confidence": (
            "DOUBLE",
            "Share of because_of's buyers who bought the category (null without a rule).",
        ),
        "lift": ("DOUBLE", "confidence / the category's overall share of buyers."),
        "reason": ("VARCHAR", "Why, in words, e.g. 'bought Camera; 90% of such buyers add ...'."),
        "method": ("VARCHAR", "The recommender the evaluation selected for this as-of date."),
    },
)

RECOMMENDATION_EVALUATION = Table(
    "ml.recommendation_evaluation",
    {
        "as_of_date": AS_OF,
        "method": ("VARCHAR", "association, item_similarity or the popularity baseline."),
        "role": ("VARCHAR", "model or baseline."),
        "description": ("VARCHAR", "How the method scores categories."),
        "hit_at_3": (
            "DOUBLE",
            "Share of evaluated customers with a newly bought category among their top 3.",
        ),
        "hit_at_10": ("DOUBLE", "The same among their top 10."),
        "margin_hit_at_3": ("DOUBLE", "hit_at_3 minus the popularity baseline's."),
        "margin_hit_at_10": ("DOUBLE", "hit_at_10 minus the popularity baseline's."),
        "rank": ("INTEGER", "Rank among the models (null for the baseline)."),
        "selected": ("BOOLEAN", "The method that recommends categories for this as-of date."),
        "evaluation_cutoff": ("DATE", "Methods were fitted on purchases strictly before it."),
        "window_end": ("DATE", "End (exclusive) of the window of new purchases after the cutoff."),
        "customers_evaluated": (
            "BIGINT",
            "Customers with purchases before the cutoff and a new category in the window.",
        ),
        "note": ("VARCHAR", "The selection in words, or why nothing was evaluated."),
        "inputs_fingerprint": (
            "VARCHAR",
            "SHA-256 of the evaluation's inputs (purchases, rules and new categories at the "
            "cutoff, settings, code): a later as-of date with the same one reuses these rows.",
        ),
    },
)

_MIX = {
    "segment_id": SEGMENT_ID,
    "segment_name": SEGMENT_NAME,
    "category": ("VARCHAR", "The product category."),
    "segment_buyers": ("BIGINT", "Customers of the segment with order lines."),
    "buyers": ("BIGINT", "Customers of the segment who bought the category."),
    "spend": ("DOUBLE", "The segment's spend in the category."),
    "spend_share": ("DOUBLE", "The category's share of the segment's spend."),
    "population_spend_share": ("DOUBLE", "The category's share of everyone's spend."),
    "spend_index": (
        "DOUBLE",
        "spend_share / population_spend_share: below 1 the segment under-buys the category.",
    ),
    "penetration": ("DOUBLE", "Share of the segment's buyers who bought the category."),
    "population_penetration": ("DOUBLE", "Share of all buyers who bought the category."),
    "penetration_index": ("DOUBLE", "penetration / population_penetration."),
}

SEGMENT_CATEGORY_MIX = Table("ml.segment_category_mix", {**_MIX, "as_of_date": AS_OF})

SEGMENT_CROSS_SELL = Table(
    "ml.segment_cross_sell",
    {
        **_MIX,
        "target_customers": (
            "BIGINT",
            "Customers of the segment who bought an associated category but not this one.",
        ),
        "expected_buyers": (
            "DOUBLE",
            "Sum of the target customers' association scores: how many may add it.",
        ),
        "best_antecedent": (
            "VARCHAR",
            "The bought category whose rule reaches most of the segment (buyers x confidence).",
        ),
        "best_confidence": ("DOUBLE", "Confidence of best_antecedent -> category."),
        "best_lift": ("DOUBLE", "Lift of best_antecedent -> category."),
        "opportunity_rank": ("INTEGER", "1 = the segment's biggest opportunity."),
        "reason": ("VARCHAR", "The opportunity in words."),
        "as_of_date": AS_OF,
    },
)

SEGMENT_CROSS_SELL_SUMMARY = Table(
    "ml.segment_cross_sell_summary",
    {
        "segment_id": SEGMENT_ID,
        "segment_name": SEGMENT_NAME,
        "cross_sell_categories": (
            "VARCHAR",
            "The segment's cross-sell categories with index and target customers, or why none.",
        ),
        "as_of_date": AS_OF,
    },
)
