-- Usable orders: typed, status normalised, one row per order_id; the rest are in quarantine_orders.
select
    order_id,
    customer_id,
    ordered_at,
    amount,
    status,
    _source_file,
    _source_row
from {{ ref('base_landing__orders') }}
where reject_reason is null
