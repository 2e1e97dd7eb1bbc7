-- Engagement per customer and cutoff, from activity strictly before the cutoff.
-- Customers without events (or data sets without an events file) get zero counts and null
-- rates, never an error.
-- Incremental by cutoff: unchanged historical cutoffs are kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff()) }}
{%- set windows = engagement_window_days() %}
with population as (
    select population.customer_id, population.cutoff_date, population.is_current,
        cutoffs.inputs_fingerprint
    from {{ ref('int_customer_population') }} as population
    join ({{ cutoffs_to_build() }}) as cutoffs using (cutoff_date)
),

activity as (
    select * from {{ ref('int_customer_daily_activity') }}
),

order_days as (
    select distinct customer_id, cast(ordered_at as date) as order_date
    from {{ ref('stg_landing__orders') }}
    where status = 'completed'
),

windowed as (
    select {{ star_except(ref('int_customer_engagement_windows'), ['inputs_fingerprint']) }}
    from {{ ref('int_customer_engagement_windows') }}
),

-- Cart days in the last 90 days, and how many of them ended in an order that day or the next.
carts as (
    select
        population.customer_id,
        population.cutoff_date,
        count(*) as cart_days_90d,
        count(order_days.order_date) as converted_cart_days_90d
    from population
    join activity
        on activity.customer_id = population.customer_id
        and activity.activity_date < population.cutoff_date
        and activity.activity_date >= population.cutoff_date - 90
        and activity.add_to_cart > 0
    left join order_days
        on order_days.customer_id = activity.customer_id
        and order_days.order_date between activity.activity_date and activity.activity_date + 1
        and order_days.order_date < population.cutoff_date
    group by population.customer_id, population.cutoff_date
),

-- Last activity and active days over all history before the cutoff, via an as-of join on a
-- running count (avoids joining every cutoff to every activity day).
cumulative as (
    select
        customer_id,
        activity_date,
        row_number() over (partition by customer_id order by activity_date) as active_days_total
    from activity
),

latest as (
    {{ latest_activity_before_cutoff('population', 'cumulative') }}
)

select
    population.customer_id,
    population.cutoff_date,
    population.is_current,
    {% for event_type in var('event_types') -%}
    {% for days in windows -%}
    cast(coalesce(windowed.{{ event_type }}_{{ days }}d, 0) as integer) as {{ event_type }}_{{ days }}d,
    {% endfor -%}
    {% endfor -%}
    cast(coalesce(windowed.session_start_30d, 0) as integer) as sessions_30d,
    cast(coalesce(windowed.session_start_90d, 0) as integer) as sessions_90d,
    cast(coalesce(windowed.events_30d, 0) as integer) as events_30d,
    cast(coalesce(windowed.events_prev_30d, 0) as integer) as events_prev_30d,
    {{ days_between('population.cutoff_date', 'latest.last_activity_date') }} as days_since_last_activity,
    cast(coalesce(latest.active_days_total, 0) as integer) as active_days,
    cast(coalesce(windowed.active_days_90d, 0) as integer) as active_days_90d,
    {% call round_half_away(4) %}1 - carts.converted_cart_days_90d / carts.cart_days_90d{% endcall %} as cart_abandonment_rate_90d,
    -- least() skips nulls, so the rate is guarded explicitly: no e-mail sent means no rate.
    case when windowed.email_sent_90d > 0
        then {% call round_half_away(4) %}least(windowed.email_open_90d / windowed.email_sent_90d, 1){% endcall %}
    end as email_open_rate_90d,
    case when windowed.email_sent_90d > 0
        then {% call round_half_away(4) %}least(windowed.email_click_90d / windowed.email_sent_90d, 1){% endcall %}
    end as email_click_rate_90d,
    cast(coalesce(windowed.support_ticket_90d, 0) as integer) as support_tickets_90d,
    -- (last 30 days - previous 30 days) / both: -1 activity stopped, +1 activity started.
    {% call round_half_away(4) %}coalesce(
        (coalesce(windowed.events_30d, 0) - coalesce(windowed.events_prev_30d, 0))
        / nullif(coalesce(windowed.events_30d, 0) + coalesce(windowed.events_prev_30d, 0), 0),
        0
    ){% endcall %} as activity_trend_30d,
    population.inputs_fingerprint
from population
left join windowed using (customer_id, cutoff_date)
left join carts using (customer_id, cutoff_date)
left join latest using (customer_id, cutoff_date)
