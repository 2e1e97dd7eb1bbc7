-- One row per completed order of the behaviour window that has visit events before it: how
-- long the customer took to decide, whether they bought in the session where the decision
-- started, and how often they came back to a cart first.
-- The decision starts at the first product_view / add_to_cart of a category the order bought,
-- after the previous order and at most decision_window_days before; where no such event
-- carries a known category, at the first view/cart add (else the first event) of the order's
-- session: the session whose last event came at most session_gap_minutes before the order.
-- Orders with neither have no row (nothing to measure).
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

completed as (
    select order_id, customer_id, ordered_at
    from {{ ref('int_completed_orders') }}
    where ordered_at < (select as_of_date from context)
),

orders as (
    select
        order_id,
        customer_id,
        ordered_at,
        greatest(
            ordered_at - {{ interval_of(var('decision_window_days'), 'day') }},
            coalesce(
                lag(ordered_at) over (partition by customer_id order by ordered_at, order_id),
                ordered_at - {{ interval_of(var('decision_window_days'), 'day') }}
            )
        ) as window_start
    from completed
    qualify ordered_at >= {{ date_minus_days(
        '(select as_of_date from context)', var('behaviour_lookback_days')
    ) }}
),

bought as (
    select distinct order_id, category
    from {{ ref('int_order_categories') }}
    where category <> 'Uncategorised'
),

window_events as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        events.occurred_at,
        events.event_type,
        events.session_number,
        events.event_type in ('product_view', 'add_to_cart') as is_intent,
        bought.category is not null as is_bought_category
    from orders
    join {{ ref('int_behaviour_events') }} as events
        on events.customer_id = orders.customer_id
        and events.occurred_at >= orders.window_start
        and events.occurred_at < orders.ordered_at
        and events.session_number is not null
    left join bought
        on bought.order_id = orders.order_id
        and bought.category = events.category
),

per_order as (
    select
        order_id,
        any_value(customer_id) as customer_id,
        any_value(ordered_at) as ordered_at,
        min(occurred_at) filter (where is_intent and is_bought_category) as category_start_at,
        max(occurred_at) as last_event_at,
        {{ arg_max('session_number', 'occurred_at') }} as last_session
    from window_events
    group by order_id
),

with_session as (
    select
        *,
        case
            when ordered_at <= last_event_at + {{ interval_of(var('session_gap_minutes'), 'minute') }}
            then last_session
        end as order_session
    from per_order
),

session_starts as (
    select
        window_events.order_id,
        min(window_events.occurred_at) as session_first_at,
        min(window_events.occurred_at) filter (where window_events.is_intent)
            as session_intent_at
    from window_events
    join with_session
        on with_session.order_id = window_events.order_id
        and with_session.order_session = window_events.session_number
    group by window_events.order_id
),

decisions as (
    select
        with_session.*,
        session_starts.session_first_at,
        coalesce(
            with_session.category_start_at,
            session_starts.session_intent_at,
            session_starts.session_first_at
        ) as decision_start_at,
        case when with_session.category_start_at is not null then 'category' else 'session' end
            as decision_basis
    from with_session
    left join session_starts using (order_id)
),

first_carts as (
    -- The first cart add at or after the decision started, and its session.
    select
        window_events.order_id,
        min(window_events.occurred_at) as first_cart_at,
        {{ arg_min('window_events.session_number', 'window_events.occurred_at') }}
            as first_cart_session
    from window_events
    join decisions using (order_id)
    where window_events.event_type = 'add_to_cart'
        and window_events.occurred_at >= decisions.decision_start_at
    group by window_events.order_id
),

cart_returns as (
    -- Sessions after the first cart add's session, up to the order: coming back to the cart.
    select
        window_events.order_id,
        count(distinct window_events.session_number) as cart_returns
    from window_events
    join first_carts using (order_id)
    where window_events.occurred_at > first_carts.first_cart_at
        and window_events.session_number <> first_carts.first_cart_session
    group by window_events.order_id
)

select
    decisions.order_id,
    decisions.customer_id,
    decisions.ordered_at,
    decisions.decision_start_at,
    decisions.decision_basis,
    {{ seconds_between('decisions.decision_start_at', 'decisions.ordered_at') }} / 60.0
        as decision_minutes,
    coalesce(decisions.decision_start_at >= decisions.session_first_at, false)
        as bought_in_same_session,
    coalesce(cart_returns.cart_returns, 0) as cart_returns
from decisions
left join cart_returns using (order_id)
where decisions.decision_start_at is not null
