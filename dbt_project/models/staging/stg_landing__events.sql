-- Usable events: typed, event type lower-cased; the rest are in quarantine_events.
-- Waits for the quarantine share test (quarantine_share_within_limit): too many bad rows
-- stop the build here. depends_on: {{ ref('quarantine_events') }} {{ source('landing', 'events_load') }}
select
    customer_id,
    occurred_at,
    event_type,
    properties,
    product_id,
    property_category,
    channel,
    _source_file,
    _source_row
from {{ ref('base_landing__events') }}
where reject_reason is null
