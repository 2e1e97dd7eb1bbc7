-- Every raw event row, typed once and kept: incremental on the loader's _batch, so a daily
-- drop types a day of events, not the whole history. Only checks that depend on the row
-- alone are made here; the date range checks (which move with run_date) are made in
-- base_landing__events, so a row is never judged against yesterday's settings.
{#- on_schema_change fail: new columns need old rows rebuilt, so dbt stops and asks for a full
    refresh (dbt_models launchpad option full_refresh). -#}
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    pre_hook="{{ delete_stale_batches(source('landing', 'events')) }}",
    **append_by_batch()
) }}

with typed as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ parse_timestamp('occurred_at') }} as occurred_at,
        occurred_at as occurred_at_raw,
        lower({{ clean_text('event_type') }}) as event_type,
        {{ clean_text('properties') }} as properties,
        _source_file,
        _source_row,
        _batch
    from {{ source('landing', 'events') }}
    {% if is_incremental() -%}
    where _batch > (select coalesce(max(_batch), 0) from {{ this }})
    {%- endif %}
)

select
    customer_id,
    occurred_at,
    event_type,
    properties,
    -- The keys the behaviour models read, parsed here once per load batch. Properties are
    -- free text: only a JSON object is read, anything else counts as empty.
    nullif(trim({{ json_object_text('properties', 'product_id') }}), '') as product_id,
    nullif(trim({{ json_object_text('properties', 'category') }}), '') as property_category,
    nullif(lower(trim({{ json_object_text('properties', 'channel') }})), '') as channel,
    _source_file,
    _source_row,
    _batch,
    case
        when customer_id is null then 'missing_customer_id'
        when event_type is null then 'missing_event_type'
        when occurred_at is null then
            case when {{ clean_text('occurred_at_raw') }} is null
                then 'missing_date' else 'unparseable_date' end
    end as parse_reject_reason
from typed
