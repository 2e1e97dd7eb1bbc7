-- Completed orders with their position in the customer's history and the gap to the previous one.
select
    order_id,
    customer_id,
    ordered_at,
    amount,
    row_number() over customer_history as order_number,
    {{ seconds_between('lag(ordered_at) over customer_history', 'ordered_at') }} / 86400.0
        as days_since_previous_order
from {{ ref('stg_landing__orders') }}
where status = 'completed'
window customer_history as (partition by customer_id order by ordered_at, order_id)
