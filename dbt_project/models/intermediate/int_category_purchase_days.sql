-- One row per customer, category and day the customer bought the category (completed orders,
-- strictly before the as-of date), with the days since the previous purchase of the category.
-- Several orders on one day are one purchase: cadence and seasonality count purchase days.
with lines as (
    select
        customer_id,
        category,
        order_id,
        cast(ordered_at as date) as purchase_date
    from {{ ref('int_order_categories') }}
    where ordered_at < (select as_of_date from {{ ref('int_run_context') }})
),

days as (
    select
        customer_id,
        category,
        purchase_date,
        count(distinct order_id) as orders
    from lines
    group by customer_id, category, purchase_date
)

select
    customer_id,
    category,
    purchase_date,
    orders,
    {{ days_between('purchase_date', 'lag(purchase_date) over (
        partition by customer_id, category order by purchase_date
    )') }} as days_since_previous_purchase
from days
