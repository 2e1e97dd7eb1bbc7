-- The run's as-of date and horizon, in one row. Every point-in-time model reads it from here.
with latest as (
    select
        (select max(ordered_at) from {{ ref('stg_landing__orders') }}) as latest_order_at,
        (select max(last_event_at) from {{ ref('int_customer_daily_activity') }}) as latest_event_at
),

resolved as (
    select
        {% if run_setting('as_of') -%}
        date '{{ run_setting("as_of") }}' as as_of_date,
        'configured' as as_of_source
        {%- else -%}
        cast(greatest(latest_order_at, latest_event_at) as date) + 1 as as_of_date,
        'day after the latest order or event' as as_of_source
        {%- endif %}
    from latest
)

select
    resolved.as_of_date,
    resolved.as_of_source,
    cast({{ run_setting('churn_horizon_days') }} as integer) as churn_horizon_days,
    -- The data extent the features could see (nothing on or after the as-of date).
    (
        select max(ordered_at) from {{ ref('stg_landing__orders') }}
        where ordered_at < resolved.as_of_date
    ) as latest_order_at,
    (
        -- Days before the as-of date hold exactly the events before it.
        select max(last_event_at) from {{ ref('int_customer_daily_activity') }}
        where activity_date < resolved.as_of_date
    ) as latest_event_at
from resolved
