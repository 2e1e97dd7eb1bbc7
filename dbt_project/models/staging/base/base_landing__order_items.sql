-- Every raw order line, typed, with the reason it cannot be used (null when it can).
-- A table: typed once, read by staging, quarantine and the audit.
with typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('category') }} as category,
        {{ parse_number('quantity') }} as quantity,
        {{ clean_text('quantity') }} as quantity_text,
        {{ parse_number('unit_price') }} as unit_price,
        {{ clean_text('unit_price') }} as unit_price_text,
        _source_file,
        _source_row
    from {{ source('landing', 'order_items') }}
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
        -- Beyond the INTEGER the staged quantity is cast to (or infinite): not a real count.
        when {{ number_out_of_range('quantity_text', max_quantity()) }} then 'quantity_out_of_range'
        when quantity_text is not null and quantity is null then 'unparseable_quantity'
        when quantity <= 0 or quantity <> floor(quantity) then 'invalid_quantity'
        when unit_price_text is null then 'missing_amount'
        when {{ number_out_of_range('unit_price_text') }} then 'amount_out_of_range'
        when unit_price is null then 'unparseable_amount'
        when unit_price < 0 then 'negative_amount'
        -- Each factor in range, the line total not (e.g. 1e6 units at 1e7 each).
        when abs(coalesce(quantity, 1) * unit_price) > {{ var('max_abs_amount') }}
            then 'amount_out_of_range'
        when usable_orders.order_id is null then 'unknown_order_id'
    end as reject_reason
from typed
left join usable_orders on usable_orders.order_id = typed.order_id
