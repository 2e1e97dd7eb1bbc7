-- Seasonal buying per customer and category ("buys swimwear each May"), from purchase days
-- strictly before the as-of date. Rows: every category a customer bought on at least
-- season_min_purchases days. Empty when the order lines before the as-of date span less than
-- season_min_years years: a shorter history cannot show months recurring across years (the
-- Dagster asset metadata says so).
--
-- The concentration measure: a season is a window of 1..season_max_months consecutive calendar
-- months (December wraps to January). For each window, k = the category's purchase days in it,
-- n = all its purchase days, and p = the share of the customer's own purchase days (any
-- category) in those months: how often the customer buys then anyway. The chance of k or more
-- of n in the window if the category followed the customer's usual months is the binomial tail
-- P(X >= k; n, p); times 12 (the season start months searched; the widths from one start month
-- are nested, so they are not counted as separate tries) it is `season_p_value`. The season is
-- the window with the lowest p-value among those with k >= season_min_purchases, k / n >=
-- season_min_share and purchases in at least season_min_years distinct years (ties: the
-- narrower, then the earlier window). A season's year is the year it starts in, so December and
-- the January after it are one season, not two years. Comparing with the customer's own months keeps a customer
-- who buys everything in December from making every category "seasonal".
{%- set max_months = var('season_max_months') %}
{%- set windows_searched = 12 %}
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

days as (
    select
        customer_id,
        category,
        purchase_date,
        month(purchase_date) as purchase_month
    from {{ ref('int_category_purchase_days') }}
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

-- Order lines spanning fewer than season_min_years years: no season can be seen recurring.
long_enough as (
    select {{ days_between('(select as_of_date from context)', 'min(purchase_date)') }}
        >= {{ var('season_min_years') }} * 365 as history_is_long_enough
    from days
),

pairs as (
    select days.customer_id, days.category, count(*) as purchase_days
    from days
    where (select history_is_long_enough from long_enough)
    group by days.customer_id, days.category
    having count(*) >= {{ var('season_min_purchases') }}
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
        best.season_years
    from pairs
    join concentration using (customer_id, category)
    left join best on best.customer_id = pairs.customer_id
        and best.category = pairs.category
        and best.window_rank = 1
),

dated as (
    select
        seasonal.*,
        context.as_of_date,
        windows.season_months,
        cast(
            case
                when make_date(year(context.as_of_date), seasonal.start_month, 1)
                    >= context.as_of_date
                    then make_date(year(context.as_of_date), seasonal.start_month, 1)
                else make_date(year(context.as_of_date) + 1, seasonal.start_month, 1)
            end as date
        ) as next_start
    from seasonal
    cross join context
    left join windows using (start_month, width)
)

select
    customer_id,
    as_of_date,
    category,
    purchase_days,
    {% call round_half_away(4) %}concentration{% endcall %} as concentration,
    is_seasonal,
    case when is_seasonal then season_months end as season_months,
    case when is_seasonal then start_month end as season_start_month,
    case when is_seasonal then width end as season_length_months,
    case when is_seasonal then season_purchases end as season_purchases,
    case when is_seasonal then season_years end as season_years,
    {% call round_half_away(6) %}season_p_value{% endcall %} as season_p_value,
    case when is_seasonal then next_start end as next_season_start,
    case when is_seasonal then {{ days_between('next_start', 'as_of_date') }} end
        as days_to_season_start,
    -- The as-of date falls inside a season that has already started.
    case when is_seasonal then
        (month(as_of_date) - start_month + 12) % 12 < width and next_start > as_of_date
    end as in_season
from dated
