-- Usable order lines of completed orders, with the order's customer and time: the one input of
-- every purchase-pattern model. Cancelled and refunded orders say nothing about what a
-- customer wants, so their lines are left out.
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
join {{ ref('int_completed_orders') }} as orders using (order_id)
