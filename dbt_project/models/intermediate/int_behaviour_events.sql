-- Events of the behaviour window (behaviour_lookback_days before the as-of date, nothing on or
-- after it) with the product, category and channel of their properties and the session
-- each web/app event belongs to. Events carry no session id: a session starts after more
-- than session_gap_minutes without an event, or at a session_start when the session already
-- has one. E-mail and support events are not visits and get no session.
-- A product's category comes from the properties when they carry one, else from the order
-- lines seen before the as-of date (its most frequent category); null when neither knows it.
-- Kept by customer (macros/by_customer.sql): a customer's sessions depend only on their own
-- events of the window, so a run sessionizes only the customers whose window events (with
-- their categories) changed: new events, events that left the window, a product's category.
{{ config(**rebuild_changed_customers()) }}

with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

product_categories as (
    select product_id, category
    from (
        select
            product_id,
            category,
            row_number() over (
                partition by product_id order by count(*) desc, category
            ) as rank
        from {{ ref('int_order_categories') }}
        where ordered_at < (select as_of_date from context)
            and product_id is not null
            and category <> 'Uncategorised'
        group by product_id, category
    )
    where rank = 1
),

window_events as (
    select
        events.customer_id,
        events.occurred_at,
        events.event_type,
        events.product_id,
        events.property_category,
        events.channel,
        events.event_type not in (
            'email_sent', 'email_open', 'email_click', 'support_ticket'
        ) as is_visit
    from {{ ref('stg_landing__events') }} as events
    cross join context
    where events.occurred_at < context.as_of_date
        and events.occurred_at
            >= {{ date_minus_days('context.as_of_date', var('behaviour_lookback_days')) }}
),

categorised as (
    select
        window_events.*,
        coalesce(window_events.property_category, product_categories.category) as category
    from window_events
    left join product_categories using (product_id)
),

{{ customers_in_rebuild(
    'categorised',
    ['occurred_at', 'event_type', 'product_id', 'category', 'channel'],
    [var('behaviour_lookback_days'), var('session_gap_minutes')],
    scoped='events'
) }},

visits as (
    select
        *,
        case
            when lag(occurred_at) over visit_order is null
                or occurred_at > lag(occurred_at) over visit_order
                    + {{ interval_of(var('session_gap_minutes'), 'minute') }}
            then 1 else 0
        end as starts_active_period
    from events
    where is_visit
    window visit_order as (
        partition by customer_id
        order by occurred_at, event_type <> 'session_start', event_type, product_id
    )
),

active_periods as (
    select
        *,
        sum(starts_active_period) over visit_order as active_period
    from visits
    window visit_order as (
        partition by customer_id
        order by occurred_at, event_type <> 'session_start', event_type, product_id
        rows between unbounded preceding and current row
    )
),

-- A second session_start within one active period starts a new session; events before the
-- first one belong to it (trackers do not always log session_start first).
split as (
    select
        *,
        greatest(
            sum(case when event_type = 'session_start' then 1 else 0 end) over (
                partition by customer_id, active_period
                order by occurred_at, event_type <> 'session_start', event_type, product_id
                rows between unbounded preceding and current row
            ),
            1
        ) as start_in_period
    from active_periods
),

numbered as (
    select
        *,
        dense_rank() over (
            partition by customer_id order by active_period, start_in_period
        ) as session_number
    from split
)

select
    customer_id,
    occurred_at,
    event_type,
    product_id,
    category,
    channel,
    session_number,
    inputs_fingerprint as _inputs_fingerprint
from numbered
union all
select
    customer_id,
    occurred_at,
    event_type,
    product_id,
    category,
    channel,
    null as session_number,
    inputs_fingerprint as _inputs_fingerprint
from events
where not is_visit
union all
-- Tombstones: customers without window events now (the post-hook drops these rows).
select customer_id, null, null, null, null, null, null, null
from rebuilt
where inputs_fingerprint is null
