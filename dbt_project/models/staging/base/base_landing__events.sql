-- Every raw event row, typed, with the reason it cannot be used (null when it can).
with typed as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ parse_timestamp('occurred_at') }} as occurred_at,
        {{ clean_text('occurred_at') }} as occurred_at_text,
        lower({{ clean_text('event_type') }}) as event_type,
        {{ clean_text('properties') }} as properties,
        _source_file,
        _source_row,
        {{ raw_values_json(['customer_id', 'occurred_at', 'event_type', 'properties']) }}
            as raw_values
    from {{ source('landing', 'events') }}
)

select
    customer_id,
    occurred_at,
    event_type,
    properties,
    _source_file,
    _source_row,
    raw_values,
    case
        when customer_id is null then 'missing_customer_id'
        when event_type is null then 'missing_event_type'
        else {{ timestamp_reject_reason('occurred_at_text', 'occurred_at') }}
    end as reject_reason
from typed
