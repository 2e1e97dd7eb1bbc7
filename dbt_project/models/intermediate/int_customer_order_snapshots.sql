-- Order behaviour per customer and cutoff, from orders strictly before the cutoff.
-- Incremental by cutoff: unchanged historical cutoffs are kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff()) }}

with population as (
    select population.*, cutoffs.inputs_fingerprint
    from {{ ref('int_customer_population') }} as population
    join ({{ cutoffs_to_build() }}) as cutoffs using (cutoff_date)
),

completed as (
    select
        population.customer_id,
        population.cutoff_date,
        count(*) as frequency,
        {{ sum_of_cents('orders.amount') }} as monetary_total,
        min(orders.ordered_at) as first_order_at,
        max(orders.ordered_at) as last_order_at,
        avg(orders.days_since_previous_order) as avg_days_between_orders,
        median(orders.days_since_previous_order) as median_days_between_orders,
        stddev_samp(orders.days_since_previous_order) as stddev_days_between_orders,
        {% for days in [30, 90, 365] -%}
        count(*) filter (
            where orders.ordered_at >= population.cutoff_date - {{ days }}
        ) as orders_last_{{ days }}d,
        coalesce({{ sum_of_cents('orders.amount', 'orders.ordered_at >= population.cutoff_date - ' ~ days) }}, 0)
            as revenue_last_{{ days }}d{{ "," if not loop.last }}
        {% endfor %}
    from population
    join {{ ref('int_completed_orders') }} as orders
        on orders.customer_id = population.customer_id
        and orders.ordered_at < population.cutoff_date
    group by population.customer_id, population.cutoff_date
),

other_statuses as (
    select
        population.customer_id,
        population.cutoff_date,
        count(*) filter (where orders.status = 'cancelled') as cancelled_orders,
        count(*) filter (where orders.status = 'refunded') as refunded_orders,
        coalesce({{ sum_of_cents('abs(orders.amount)', "orders.status = 'refunded'") }}, 0)
            as refunded_amount
    from population
    join {{ ref('stg_landing__orders') }} as orders
        on orders.customer_id = population.customer_id
        and orders.ordered_at < population.cutoff_date
        and orders.status <> 'completed'
    group by population.customer_id, population.cutoff_date
)

select
    population.customer_id,
    population.cutoff_date,
    population.is_current,
    population.first_seen_at,
    population.tenure_days,
    coalesce(completed.frequency, 0) as frequency,
    {% call round_half_away(2) %}coalesce(completed.monetary_total, 0){% endcall %} as monetary_total,
    {% call round_half_away(2) %}completed.monetary_total / completed.frequency{% endcall %} as avg_order_value,
    completed.first_order_at,
    completed.last_order_at,
    {{ days_between('population.cutoff_date', 'cast(completed.last_order_at as date)') }} as recency_days,
    {% call round_half_away(2) %}completed.avg_days_between_orders{% endcall %} as avg_days_between_orders,
    {% call round_half_away(2) %}completed.median_days_between_orders{% endcall %} as median_days_between_orders,
    {% call round_half_away(2) %}completed.stddev_days_between_orders{% endcall %} as stddev_days_between_orders,
    -- Days since the last order in units of the customer's usual gap (1 = right on cycle).
    {% call round_half_away(3) %}
        ({{ days_between('population.cutoff_date', 'cast(completed.last_order_at as date)') }})
        / nullif(completed.median_days_between_orders, 0){% endcall %} as recency_vs_usual_gap,
    {% for days in [30, 90, 365] -%}
    coalesce(completed.orders_last_{{ days }}d, 0) as orders_last_{{ days }}d,
    {% call round_half_away(2) %}coalesce(completed.revenue_last_{{ days }}d, 0){% endcall %} as revenue_last_{{ days }}d,
    {% endfor -%}
    coalesce(other_statuses.cancelled_orders, 0) as cancelled_orders,
    coalesce(other_statuses.refunded_orders, 0) as refunded_orders,
    {% call round_half_away(2) %}coalesce(other_statuses.refunded_amount, 0){% endcall %} as refunded_amount,
    population.inputs_fingerprint
from population
left join completed using (customer_id, cutoff_date)
left join other_statuses using (customer_id, cutoff_date)
