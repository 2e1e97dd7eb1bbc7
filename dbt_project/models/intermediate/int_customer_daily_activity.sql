-- One row per customer and day with usable events: event counts per known type and in total.
-- The engagement snapshots aggregate this (much smaller than the raw events) per cutoff.
-- A view: the date range checks of base_landing__events reject whole days, so filtering the
-- incrementally kept int_customer_event_days by day gives exactly the usable events' days.
{{ config(materialized='view') }}

select {{ star_except(ref('int_customer_event_days'), ['last_batch']) }}
from {{ ref('int_customer_event_days') }}
where {{ day_is_valid('activity_date', 'events') }}
