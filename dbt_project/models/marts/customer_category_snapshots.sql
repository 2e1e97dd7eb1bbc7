-- Point-in-time category history per customer, category and cutoff (the as-of date and the
-- evaluation cutoff), from completed order lines strictly before the cutoff. Scoring reads the
-- current rows, the evaluation the historical ones, so both use one definition of affinity.
-- Incremental by cutoff: an unchanged evaluation cutoff is kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff('int_category_cutoffs')) }}

with cutoffs as (
    select cutoff_date, is_current, inputs_fingerprint
    from ({{ cutoffs_to_build('int_category_cutoffs') }})
),

lines as (
    select
        cutoffs.cutoff_date,
        cutoffs.is_current,
        cutoffs.inputs_fingerprint,
        lines.*,
        {{ seconds_between('lines.ordered_at', 'cast(cutoffs.cutoff_date as timestamp)') }} / 86400.0
            as days_ago
    from {{ ref('int_order_categories') }} as lines
    join cutoffs on lines.ordered_at < cutoffs.cutoff_date
),

per_category as (
    select
        customer_id,
        cutoff_date,
        is_current,
        inputs_fingerprint,
        category,
        sum(line_amount) as spend,
        count(distinct order_id) as orders_with_category,
        sum(quantity) as units,
        min(ordered_at) as first_bought_at,
        max(ordered_at) as last_bought_at,
        -- Recent spend counts more: a line loses weight by e^-1 every affinity_decay_days.
        sum(line_amount * exp(-days_ago / {{ var('affinity_decay_days') }}))
            as recency_weighted_spend
    from lines
    group by customer_id, cutoff_date, is_current, inputs_fingerprint, category
),

shares as (
    select
        *,
        -- Lines priced 0 carry no spend: such a customer's categories share equally.
        coalesce(
            spend / nullif(sum(spend) over customer_cutoff, 0),
            1.0 / count(*) over customer_cutoff
        ) as spend_share,
        coalesce(
            recency_weighted_spend / nullif(sum(recency_weighted_spend) over customer_cutoff, 0),
            1.0 / count(*) over customer_cutoff
        ) as affinity,
        count(*) over customer_cutoff as categories_bought
    from per_category
    window customer_cutoff as (partition by customer_id, cutoff_date)
)

select
    customer_id,
    cutoff_date,
    is_current,
    category,
    {% call round_half_away(2) %}spend{% endcall %} as spend,
    {% call round_half_away(6) %}spend_share{% endcall %} as spend_share,
    orders_with_category,
    units,
    first_bought_at,
    last_bought_at,
    {{ days_between('cutoff_date', 'cast(last_bought_at as date)') }} as days_since_last_bought,
    {% call round_half_away(6) %}affinity{% endcall %} as affinity,
    row_number() over (
        partition by customer_id, cutoff_date order by affinity desc, category
    ) as affinity_rank,
    categories_bought,
    inputs_fingerprint
from shares
