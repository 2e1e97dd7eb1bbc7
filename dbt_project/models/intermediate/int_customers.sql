-- Every customer seen in any source: the customers file, orders or events. Customers who only
-- appear in orders/events are kept and flagged (in_customers_file = false).
with file_customers as (
    select * from {{ ref('stg_landing__customers') }}
),

order_customers as (
    select customer_id, min(ordered_at) as first_order_at
    from {{ ref('stg_landing__orders') }}
    group by customer_id
),

event_customers as (
    -- From the daily activity: a row per customer-day, not per event.
    select customer_id, min(first_event_at) as first_event_at
    from {{ ref('int_customer_daily_activity') }}
    group by customer_id
),

ids as (
    select customer_id from file_customers
    union
    select customer_id from order_customers
    union
    select customer_id from event_customers
)

select
    ids.customer_id,
    file_customers.customer_id is not null as in_customers_file,
    file_customers.signup_at,
    file_customers.country,
    file_customers.acquisition_channel,
    file_customers.email,
    file_customers.marketing_opt_in,
    -- When the customer first showed up anywhere; a snapshot includes them from then on.
    least(
        file_customers.signup_at,
        order_customers.first_order_at,
        event_customers.first_event_at
    ) as first_seen_at
from ids
left join file_customers using (customer_id)
left join order_customers using (customer_id)
left join event_customers using (customer_id)
