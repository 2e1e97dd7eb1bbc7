-- Every raw order row, typed once and kept: incremental on the loader's _batch like the events,
-- so a daily drop types a day of orders, not the whole history. Only what depends on the row
-- alone is computed here (typed values and the facts the checks need); the checks that follow
-- the run's settings (date range, amount limit) and the duplicate rule, which looks across
-- rows, are made in base_landing__orders.
{#- on_schema_change fail: new columns need old rows rebuilt (full_refresh, as for the events). -#}
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    pre_hook="{{ delete_stale_batches(source('landing', 'orders')) }}",
    **append_by_batch()
) }}

with typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ parse_timestamp('ordered_at') }} as ordered_at,
        ordered_at as ordered_at_raw,
        {{ parse_number('amount') }} as amount,
        {{ clean_text('amount') }} as amount_text,
        {{ normalise_order_status('status') }} as status,
        _source_file,
        _source_row,
        _batch
    from {{ source('landing', 'orders') }}
    {% if is_incremental() -%}
    where _batch > (select coalesce(max(_batch), 0) from {{ this }})
    {%- endif %}
)

select
    order_id,
    customer_id,
    ordered_at,
    -- The raw text of a timestamp that did not parse (null otherwise): missing or unparseable.
    case when ordered_at is null then {{ clean_text('ordered_at_raw') }} end as ordered_at_unparsed,
    amount,
    amount_text is null as amount_missing,
    -- The amount as a number even when unusable (infinite, huge): checked against the run's limit.
    try_cast(amount_text as double) as amount_number,
    status,
    _source_file,
    _source_row,
    _batch
from typed
