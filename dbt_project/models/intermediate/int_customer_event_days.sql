-- One row per customer and day with events: counts per known event type and in total, first
-- and last event time. Incremental: a new batch of events recomputes only the customer-days it
-- touches (from all their events, so late rows for an old day are counted), which keeps the
-- daily refresh from re-aggregating the whole event history. Every parseable event is here;
-- int_customer_daily_activity applies the date range of this run.
{#- on_schema_change fail: new columns need old rows rebuilt, so dbt stops and asks for a full
    refresh (dbt_models launchpad option full_refresh). -#}
{{ config(
    on_schema_change='fail',
    pre_hook="{{ reset_when_batches_removed(ref('base_landing__events_parsed')) }}",
    **replace_customer_days()
) }}

with events as (
    select customer_id, occurred_at, event_type, _batch
    from {{ ref('base_landing__events_parsed') }}
    where parse_reject_reason is null
),

{% if is_incremental() -%}
new_events as (
    select * from events
    where _batch > (select coalesce(max(last_batch), 0) from {{ this }})
),

touched as (
    select distinct customer_id, cast(occurred_at as date) as activity_date from new_events
),

in_scope as (
    select events.*
    from events
    join touched
        on touched.customer_id = events.customer_id
        and touched.activity_date = cast(events.occurred_at as date)
    -- Daily drops touch recent days: skip older rows before the join.
    where events.occurred_at >= (select min(activity_date) from touched)
)
{%- else -%}
in_scope as (
    select * from events
)
{%- endif %}

select
    customer_id,
    cast(occurred_at as date) as activity_date,
    count(*) as events,
    {% for event_type in var('event_types') -%}
    count(*) filter (where event_type = '{{ event_type }}') as {{ event_type }},
    {% endfor -%}
    min(occurred_at) as first_event_at,
    max(occurred_at) as last_event_at,
    max(_batch) as last_batch
from in_scope
group by customer_id, cast(occurred_at as date)
