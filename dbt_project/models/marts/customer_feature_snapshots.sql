-- Point-in-time features per customer and cutoff: the single source of features for both model
-- training (historical cutoffs) and scoring (the current as-of date).
-- Incremental by cutoff: unchanged historical cutoffs are kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff()) }}

with orders as (
    select * from {{ ref('int_customer_rfm_snapshots') }}
    where cutoff_date in (select cutoff_date from ({{ cutoffs_to_build() }}))
),

engagement as (
    select * from {{ ref('int_customer_engagement_snapshots') }}
),

customers as (
    select * from {{ ref('int_customers') }}
),

-- Whether any event data existed before each cutoff (false for transactions-only data): the
-- first activity day is before it (one scalar subquery; Spark has no EXISTS in a select list).
events_by_cutoff as (
    select
        cutoffs.cutoff_date,
        coalesce(
            (select min(activity_date) from {{ ref('int_customer_daily_activity') }})
                < cutoffs.cutoff_date,
            false
        ) as events_available
    from {{ ref('int_feature_cutoffs') }} as cutoffs
)

select
    orders.customer_id,
    orders.cutoff_date,
    orders.is_current,
    customers.in_customers_file,
    customers.country,
    customers.acquisition_channel,
    customers.marketing_opt_in,
    customers.signup_at,
    orders.first_seen_at,
    orders.tenure_days,
    orders.frequency,
    orders.monetary_total,
    orders.avg_order_value,
    orders.first_order_at,
    orders.last_order_at,
    orders.recency_days,
    orders.avg_days_between_orders,
    orders.median_days_between_orders,
    orders.stddev_days_between_orders,
    orders.recency_vs_usual_gap,
    orders.orders_last_30d,
    orders.orders_last_90d,
    orders.orders_last_365d,
    orders.revenue_last_30d,
    orders.revenue_last_90d,
    orders.revenue_last_365d,
    orders.cancelled_orders,
    orders.refunded_orders,
    orders.refunded_amount,
    orders.r_score,
    orders.f_score,
    orders.m_score,
    orders.rfm_cell,
    orders.rfm_segment,
    events_by_cutoff.events_available,
    {{ star_except(ref('int_customer_engagement_snapshots'), ['customer_id', 'cutoff_date', 'is_current', 'inputs_fingerprint'], 'engagement') }},
    orders.inputs_fingerprint
from orders
join engagement using (customer_id, cutoff_date)
join customers using (customer_id)
join events_by_cutoff using (cutoff_date)
