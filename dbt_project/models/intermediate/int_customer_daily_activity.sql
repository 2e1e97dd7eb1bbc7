-- One row per customer and day with activity: event counts per known type and in total.
-- The engagement snapshots aggregate this (much smaller than the raw events) per cutoff.
select
    customer_id,
    cast(occurred_at as date) as activity_date,
    count(*) as events,
    {% for event_type in var('event_types') -%}
    count(*) filter (where event_type = '{{ event_type }}') as {{ event_type }}{{ "," if not loop.last }}
    {% endfor %}
from {{ ref('stg_landing__events') }}
group by customer_id, cast(occurred_at as date)
