-- Usable orders: typed, status normalised, one row per order_id; the rest are in quarantine_orders.
-- Waits for the quarantine share test (quarantine_share_within_limit): too many bad rows
-- stop the build here. depends_on: {{ ref('quarantine_orders') }} {{ source('landing', 'orders_load') }}
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
