-- Every raw order line, typed, with the reason it cannot be used (null when it can).
-- A table: read by staging, quarantine and the audit. The typing is done once per load batch
-- (base_landing__order_items_parsed); the checks that follow the run's settings and the join
-- with the usable orders are made here, over the typed rows, each run.
with typed as (
    select * from {{ ref('base_landing__order_items_parsed') }}
),

usable_orders as (
    select order_id from {{ ref('base_landing__orders') }} where reject_reason is null
)

select
    typed.order_id,
    product_id,
    coalesce(category, 'Uncategorised') as category,
    -- A missing quantity means one unit.
    coalesce(quantity, 1) as quantity,
    {% call round_half_away(2) %}unit_price{% endcall %} as unit_price,
    _source_file,
    _source_row,
    case
        when typed.order_id is null then 'missing_order_id'
        when quantity_out_of_range then 'quantity_out_of_range'
        when quantity_unparseable then 'unparseable_quantity'
        when quantity <= 0 or quantity <> floor(quantity) then 'invalid_quantity'
        when unit_price_missing then 'missing_amount'
        when {{ number_out_of_range('unit_price_number') }} then 'amount_out_of_range'
        when unit_price is null then 'unparseable_amount'
        when unit_price < 0 then 'negative_amount'
        -- Each factor in range, the line total not (e.g. 1e6 units at 1e7 each).
        when abs(coalesce(quantity, 1) * unit_price) > {{ var('max_abs_amount') }}
            then 'amount_out_of_range'
        when usable_orders.order_id is null then 'unknown_order_id'
    end as reject_reason
from typed
left join usable_orders on usable_orders.order_id = typed.order_id
