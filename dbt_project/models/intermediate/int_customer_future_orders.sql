-- Labels for training: what each customer did in the horizon after a historical cutoff.
-- The window is [cutoff, cutoff + horizon) in timestamps: the days after the last feature day.
-- Historical cutoffs end their window on or before the as-of date, so labels never read data
-- the as-of date could not see.
-- Incremental by cutoff: unchanged historical cutoffs are kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff()) }}

with cutoffs as (
    select cutoff_date, churn_horizon_days, inputs_fingerprint
    from ({{ cutoffs_to_build() }})
    where not is_current
),

population as (
    select
        population.customer_id,
        population.cutoff_date,
        cutoffs.churn_horizon_days,
        cutoffs.inputs_fingerprint
    from {{ ref('int_customer_population') }} as population
    join cutoffs using (cutoff_date)
),

future as (
    select
        population.customer_id,
        population.cutoff_date,
        count(*) as future_orders,
        {{ sum_of_cents('orders.amount') }} as future_revenue
    from population
    join {{ ref('int_completed_orders') }} as orders
        on orders.customer_id = population.customer_id
        and orders.ordered_at >= population.cutoff_date
        and orders.ordered_at < population.cutoff_date + population.churn_horizon_days
    group by population.customer_id, population.cutoff_date
)

select
    population.customer_id,
    population.cutoff_date,
    cast(population.cutoff_date + population.churn_horizon_days as date) as label_window_end,
    coalesce(future.future_orders, 0) as future_orders,
    {% call round_half_away(2) %}coalesce(future.future_revenue, 0){% endcall %} as future_revenue,
    population.inputs_fingerprint
from population
left join future using (customer_id, cutoff_date)
