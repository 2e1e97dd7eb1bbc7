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
-- The as-of date free part is int_category_seasons (kept by customer); this model dates it.
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

dated as (
    select
        seasonal.*,
        context.as_of_date,
        cast(
            case
                when make_date(year(context.as_of_date), seasonal.start_month, 1)
                    >= context.as_of_date
                    then make_date(year(context.as_of_date), seasonal.start_month, 1)
                else make_date(year(context.as_of_date) + 1, seasonal.start_month, 1)
            end as date
        ) as next_start
    from {{ ref('int_category_seasons') }} as seasonal
    cross join context
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
