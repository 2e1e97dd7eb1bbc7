-- Replenishment cadence per customer and category bought on at least
-- replenishment_min_purchases distinct days before the as-of date: the median gap between
-- purchases of the category, when the next one is due and whether it is overdue or lapsed.
-- "Buys detergent every ~90 days" is this table's row for detergent. Customers without order
-- lines have no rows.
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

per_category as (
    select
        customer_id,
        category,
        cast(sum(orders) as integer) as orders_with_category,
        count(*) as purchase_days,
        min(purchase_date) as first_bought_date,
        max(purchase_date) as last_bought_date,
        median(days_since_previous_purchase) as median_gap_days,
        -- Exact integer sums for the coefficient of variation (see gap_cv).
        count(days_since_previous_purchase) as gaps,
        sum(cast(days_since_previous_purchase as bigint)) as gap_sum,
        sum(cast(days_since_previous_purchase as bigint) * days_since_previous_purchase)
            as gap_square_sum
    from {{ ref('int_category_purchase_days') }}
    group by customer_id, category
    having count(*) >= {{ var('replenishment_min_purchases') }}
),

due as (
    select
        per_category.*,
        context.as_of_date,
        cast(
            {{ date_plus_days('last_bought_date', 'cast(round(median_gap_days) as integer)') }}
            as date
        ) as next_due_date,
        {{ days_between('context.as_of_date', 'last_bought_date') }} as days_since_last_bought
    from per_category
    cross join context
)

select
    customer_id,
    as_of_date,
    category,
    orders_with_category,
    purchase_days,
    first_bought_date,
    last_bought_date,
    days_since_last_bought,
    {% call round_half_away(1) %}median_gap_days{% endcall %} as median_gap_days,
    -- Regularity: the gaps' coefficient of variation, sample standard deviation / mean
    -- (0 = like clockwork; null with one gap). As sqrt(n (n Sxx - Sx^2) / (Sx^2 (n - 1))) of
    -- exact integer sums: one division and one square root, both correctly rounded, so every
    -- engine gets the same double (stddev_samp's last bit differs between engines, and that
    -- decides round(0.3675, 3)).
    {% call round_half_away(3) -%}
        sqrt(
            cast(gaps * (gaps * gap_square_sum - gap_sum * gap_sum) as double)
            / nullif(cast(gap_sum * gap_sum * (gaps - 1) as double), 0)
        )
    {%- endcall %} as gap_cv,
    next_due_date,
    {{ days_between('next_due_date', 'as_of_date') }} as due_in_days,
    next_due_date < as_of_date as is_overdue,
    days_since_last_bought > {{ var('replenishment_lapsed_after_cycles') }} * median_gap_days
        as is_lapsed,
    -- 1 = the category due next among those not yet overdue (ties by name); null when overdue.
    case when next_due_date >= as_of_date then
        row_number() over (
            partition by customer_id, next_due_date >= as_of_date
            order by next_due_date, category
        )
    end as due_rank
from due
