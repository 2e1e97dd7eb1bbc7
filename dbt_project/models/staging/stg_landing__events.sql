-- Usable events: typed, event type lower-cased; the rest are in quarantine_events.
select
    customer_id,
    occurred_at,
    event_type,
    properties,
    _source_file,
    _source_row
from {{ ref('base_landing__events') }}
where reject_reason is null
