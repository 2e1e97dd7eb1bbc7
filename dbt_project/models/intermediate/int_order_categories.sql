-- Usable order lines of completed orders, with the order's customer and time: the one input of
-- every purchase-pattern model. Cancelled and refunded orders say nothing about what a
-- customer wants, so their lines are left out. Kept by customer like int_completed_orders
-- (macros/incremental.sql rebuild_by_customer): a daily run rejoins only the customers whose
-- orders or lines may have changed since the last run.
{{ config(**rebuild_by_customer()) }}

with orders as (
    select customer_id, order_id, ordered_at
    from {{ ref('int_completed_orders') }}
),

{% if is_incremental() -%}
changed as (
    {{ changed_order_ids() }}
    union
    select order_id from {{ ref('base_landing__order_items_parsed') }}
    where _batch > (select max(_lines_batch) from {{ this }})
),

{{ customers_in_scope('orders', lines=true) }},
{%- else -%}
in_scope as (
    select * from orders
),
{%- endif %}

joined as (
    select
        orders.customer_id,
        orders.order_id,
        orders.ordered_at,
        lines.product_id,
        lines.category,
        lines.quantity,
        lines.unit_price,
        lines.line_amount
    from {{ ref('stg_landing__order_items') }} as lines
    join in_scope as orders using (order_id)
)

select *, {{ order_state_columns(lines=true) }}
from joined
{%- if is_incremental() %}

union all

-- An affected customer left without lines (drop_customer_tombstones).
select
    customer_id, null, null, null, null, null, null, null, {{ order_state_columns(lines=true) }}
from affected
where customer_id not in (select customer_id from joined)
{%- endif %}
