-- Every raw order line, typed once and kept: incremental on the loader's _batch like the events,
-- so a daily drop types a day of lines, not the whole history. Only what depends on the row
-- alone is computed here; the amount checks that follow the run's settings and the join with
-- the usable orders are made in base_landing__order_items.
{#- on_schema_change fail: new columns need old rows rebuilt (full_refresh, as for the events). -#}
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    pre_hook="{{ delete_stale_batches(source('landing', 'order_items')) }}",
    **append_by_batch()
) }}

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
        _source_row,
        _batch
    from {{ source('landing', 'order_items') }}
    {% if is_incremental() -%}
    where _batch > (select coalesce(max(_batch), 0) from {{ this }})
    {%- endif %}
)

select
    order_id,
    product_id,
    category,
    quantity,
    -- Beyond the INTEGER the staged quantity is cast to (or infinite): not a real count.
    {{ number_out_of_range('quantity_text', max_quantity()) }} as quantity_out_of_range,
    quantity_text is not null and quantity is null as quantity_unparseable,
    unit_price,
    unit_price_text is null as unit_price_missing,
    -- The unit price as a number even when unusable: checked against the run's amount limit.
    try_cast(unit_price_text as double) as unit_price_number,
    _source_file,
    _source_row,
    _batch
from typed
