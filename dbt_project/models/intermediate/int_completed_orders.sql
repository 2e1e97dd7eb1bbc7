-- Completed orders with their position in the customer's history and the gap to the previous one.
-- Kept by customer (macros/incremental.sql rebuild_by_customer): a daily run renumbers only the
-- customers whose orders may have changed since the last run, not the whole order history.
{{ config(**rebuild_by_customer()) }}

with completed as (
    select order_id, customer_id, ordered_at, amount
    from {{ ref('stg_landing__orders') }}
    where status = 'completed'
),

{% if is_incremental() -%}
changed as (
    {{ changed_order_ids() }}
),

{{ customers_in_scope('completed') }},
{%- else -%}
in_scope as (
    select * from completed
),
{%- endif %}

numbered as (
    select
        order_id,
        customer_id,
        ordered_at,
        amount,
        row_number() over customer_history as order_number,
        {{ seconds_between('lag(ordered_at) over customer_history', 'ordered_at') }} / 86400.0
            as days_since_previous_order
    from in_scope
    window customer_history as (partition by customer_id order by ordered_at, order_id)
)

select *, {{ order_state_columns() }}
from numbered
{%- if is_incremental() %}

union all

-- An affected customer left without completed orders (drop_customer_tombstones).
select
    null, customer_id, null, null, null, null, {{ order_state_columns() }}
from affected
where customer_id not in (select customer_id from in_scope)
{%- endif %}
