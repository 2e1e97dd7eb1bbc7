-- Every raw event row, typed, with the reason it cannot be used (null when it can).
-- A view over the incrementally typed rows: the date range checks follow today's settings.
{{ config(materialized='view') }}

select
    customer_id,
    occurred_at,
    event_type,
    properties,
    product_id,
    property_category,
    channel,
    _source_file,
    _source_row,
    coalesce(parse_reject_reason, {{ timestamp_range_reject_reason('occurred_at', 'events') }})
        as reject_reason
from {{ ref('base_landing__events_parsed') }}
