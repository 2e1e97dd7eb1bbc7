-- Usable order lines of usable orders; the rest are in quarantine_order_items.
-- Waits for the quarantine share test (quarantine_share_within_limit): too many bad rows
-- stop the build here. depends_on: {{ ref('quarantine_order_items') }} {{ source('landing', 'order_items_load') }}
select
    order_id,
    product_id,
    category,
    cast(quantity as integer) as quantity,
    unit_price,
    {% call round_half_away(2) %}quantity * unit_price{% endcall %} as line_amount,
    _source_file,
    _source_row
from {{ ref('base_landing__order_items') }}
where reject_reason is null
