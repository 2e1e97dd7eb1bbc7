-- The as-of date free part of customer_category_seasonality (its header explains the measure):
-- per customer and category bought on at least season_min_purchases days, the best season
-- window, its binomial p-value and whether it is seasonal. Kept by customer
-- (macros/by_customer.sql): a customer's seasons depend only on their own purchase days and
-- the settings, so a run recomputes only the customers whose purchase days changed.
{{ config(**rebuild_changed_customers()) }}
{%- set max_months = var('season_max_months') %}
{%- set windows_searched = 12 %}
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

all_days as (
    select
        customer_id,
        category,
        purchase_date,
        month(purchase_date) as purchase_month
    from {{ ref('int_category_purchase_days') }}
),

-- Order lines spanning fewer than season_min_years years: no season can be seen recurring.
long_enough as (
    select {{ days_between('(select as_of_date from context)', 'min(purchase_date)') }}
        >= {{ var('season_min_years') }} * 365 as history_is_long_enough
    from all_days
),

all_pairs as (
    select customer_id, category, count(*) as purchase_days
    from all_days
    where (select history_is_long_enough from long_enough)
    group by customer_id, category
    having count(*) >= {{ var('season_min_purchases') }}
),

-- Only customers with a pair can have rows: the others need no fingerprint either.
candidate_days as (
    select * from all_days
    where customer_id in (select customer_id from all_pairs)
),

{{ customers_in_rebuild('candidate_days', ['category', 'purchase_date'], [
    var('season_max_months'), var('season_min_purchases'), var('season_min_share'),
    var('season_min_years'), var('season_max_p_value')
], scoped='days') }},

pairs as (
    select all_pairs.*, rebuilt.inputs_fingerprint
    from all_pairs
    join rebuilt using (customer_id)
),

customer_days as (
    select distinct customer_id, purchase_date, purchase_month
    from days
),

customers as (
    select customer_id, count(*) as customer_purchase_days
    from customer_days
    group by customer_id
),

-- Every window: start month 1-12, width 1..season_max_months, and the months it covers.
window_months as (
    select
        start_month,
        width,
        (start_month - 1 + offset_months) % 12 + 1 as month_in_window,
        offset_months
    from {{ integer_span(1, 13, 'starts', 'start_month') }},
        {{ integer_span(1, max_months + 1, 'widths', 'width') }},
        {{ integer_range(max_months, 'offsets', 'offset_months') }}
    where offset_months < width
),

windows as (
    select
        start_month,
        width,
        {{ ordered_text_agg(month_abbreviation('month_in_window'), "', '", 'offset_months') }}
            as season_months
    from window_months
    group by start_month, width
),

category_in_window as (
    select
        days.customer_id,
        days.category,
        window_months.start_month,
        window_months.width,
        count(*) as season_purchases,
        count(distinct year(
            {{ date_minus_months(
                'days.purchase_date', 'cast(window_months.start_month - 1 as integer)'
            ) }}
        )) as season_years
    from days
    join pairs using (customer_id, category)
    join window_months on days.purchase_month = window_months.month_in_window
    group by all
),

customer_in_window as (
    select
        customer_days.customer_id,
        window_months.start_month,
        window_months.width,
        count(*) as customer_season_days
    from customer_days
    join customers using (customer_id)
    join window_months on customer_days.purchase_month = window_months.month_in_window
    group by all
),

measured as (
    select
        category_in_window.*,
        pairs.purchase_days,
        category_in_window.season_purchases / pairs.purchase_days as season_share,
        customer_in_window.customer_season_days / customers.customer_purchase_days
            as baseline_share
    from category_in_window
    join pairs using (customer_id, category)
    join customers using (customer_id)
    join customer_in_window using (customer_id, start_month, width)
),

-- The binomial tail only for windows that pass the count, share and years rules.
candidates as (
    select *
    from measured
    where season_purchases >= {{ var('season_min_purchases') }}
        and season_share >= {{ var('season_min_share') }}
        and season_years >= {{ var('season_min_years') }}
),

-- Each outcome's log binomial probability, in its own step: Spark's log-gamma (reflect) is
-- non-deterministic to Spark's planner, which keeps it out of an aggregate.
outcome_terms as (
    select
        customer_id,
        category,
        start_month,
        width,
        baseline_share,
        {{ log_gamma('purchase_days + 1') }} - {{ log_gamma('j + 1') }}
            - {{ log_gamma('purchase_days - j + 1') }}
            + j * ln(baseline_share) + (purchase_days - j) * ln(1 - baseline_share)
            as log_probability
    from {{ each_integer_in_span(
        'candidates', 'season_purchases', 'purchase_days + 1', 'outcomes', 'j'
    ) }}
),

tails as (
    select
        customer_id,
        category,
        start_month,
        width,
        case
            when max(baseline_share) >= 1 then 1.0
            else least(1.0, {{ windows_searched }} * sum(exp(log_probability)))
        end as season_p_value
    from outcome_terms
    group by customer_id, category, start_month, width
),

best as (
    select
        candidates.*,
        tails.season_p_value,
        row_number() over (
            partition by candidates.customer_id, candidates.category
            order by tails.season_p_value, candidates.width, candidates.start_month
        ) as window_rank
    from candidates
    join tails using (customer_id, category, start_month, width)
),

-- The documented concentration: the best share in any season_max_months-month window.
concentration as (
    select customer_id, category, max(season_share) as concentration
    from measured
    where width = {{ max_months }}
    group by customer_id, category
),

seasonal as (
    select
        pairs.customer_id,
        pairs.category,
        pairs.purchase_days,
        concentration.concentration,
        best.season_p_value,
        coalesce(best.season_p_value <= {{ var('season_max_p_value') }}, false) as is_seasonal,
        best.start_month,
        best.width,
        best.season_purchases,
        best.season_years,
        windows.season_months,
        pairs.inputs_fingerprint
    from pairs
    join concentration using (customer_id, category)
    left join best on best.customer_id = pairs.customer_id
        and best.category = pairs.category
        and best.window_rank = 1
    left join windows
        on windows.start_month = best.start_month
        and windows.width = best.width
)

select
    customer_id,
    category,
    purchase_days,
    concentration,
    season_p_value,
    is_seasonal,
    start_month,
    width,
    season_purchases,
    season_years,
    season_months,
    inputs_fingerprint as _inputs_fingerprint
from seasonal
union all
-- Tombstones: customers who no longer have a candidate category (the post-hook drops them).
select customer_id, null, null, null, null, null, null, null, null, null, null, null
from rebuilt
where inputs_fingerprint is null
