-- Usable order lines of usable orders; the rest are in quarantine_order_items.
select
    order_id,
    product_id,
    category,
    cast(quantity as integer) as quantity,
    unit_price,
    round(quantity * unit_price, 2) as line_amount,
    _source_file,
    _source_row
from {{ ref('base_landing__order_items') }}
where reject_reason is null
