-- One row per customer: profile, RFM, engagement summary, segment, churn risk and drivers,
-- predicted value and next order. No e-mail or other direct identifier (PII stays in the
-- warehouse).
with features as (
    select * from {{ ref('customer_features') }}
),

segments as (
    select * from {{ source('ml', 'customer_segments') }}
),

profiles as (
    select segment_id, recommended_action, channel as segment_channel
    from {{ source('ml', 'segment_profiles') }}
),

scores as (
    select * from {{ source('ml', 'churn_scores') }}
),

-- Top 3 categories to recommend, as columns (null without order lines).
recommendations as (
    select
        customer_id,
        max(category) filter (where rank = 1) as recommended_category_1,
        max(category) filter (where rank = 2) as recommended_category_2,
        max(category) filter (where rank = 3) as recommended_category_3,
        max(reason) filter (where rank = 1) as recommendation_reason_1
    from {{ source('ml', 'customer_recommendations') }}
    group by customer_id
),

-- Behaviour: replenishment cadence and seasonality (README "Behaviour"). The category due next
-- on its own cycle (not yet overdue) and the seasonal category whose season starts next; null
-- without order lines or such a habit.
next_due as (
    select customer_id, category as next_due_category, next_due_date
    from {{ ref('customer_category_cadence') }}
    where due_rank = 1
),

next_season as (
    select customer_id, category as next_seasonal_category, next_season_start
    from {{ ref('customer_category_seasonality') }}
    where is_seasonal
    qualify row_number() over (
        partition by customer_id order by next_season_start, category
    ) = 1
),

behaviour as (
    select * from {{ ref('customer_behaviour') }}
)

select
    features.customer_id,
    features.as_of_date,
    features.country,
    features.acquisition_channel,
    features.marketing_opt_in,
    features.in_customers_file,
    features.signup_at,
    features.first_seen_at,
    features.tenure_days,
    features.frequency,
    features.monetary_total,
    features.avg_order_value,
    features.first_order_at,
    features.last_order_at,
    features.recency_days,
    features.median_days_between_orders,
    features.orders_last_90d,
    features.revenue_last_365d,
    features.r_score,
    features.f_score,
    features.m_score,
    features.rfm_segment,
    features.sessions_30d,
    features.events_30d,
    features.days_since_last_activity,
    features.email_open_rate_90d,
    features.activity_trend_30d,
    segments.segment_id,
    segments.segment_name,
    profiles.recommended_action,
    scores.churn_probability,
    scores.risk_tier,
    scores.driver_1,
    scores.driver_2,
    scores.driver_3,
    scores.predicted_orders,
    scores.predicted_revenue,
    scores.value_12m,
    scores.expected_next_order_date,
    scores.next_order_note,
    scores.overdue_since,
    scores.days_overdue,
    scores.overdue,
    recommendations.recommended_category_1,
    recommendations.recommended_category_2,
    recommendations.recommended_category_3,
    recommendations.recommendation_reason_1,
    -- Behaviour: replenishment cadence and seasonality.
    next_due.next_due_category,
    next_due.next_due_date,
    next_season.next_seasonal_category,
    next_season.next_season_start,
    -- Behaviour: decision speed and channel preference (marts.customer_behaviour). Without
    -- enough evidence of their own, a customer gets the segment's channel where they may be
    -- contacted on it, and preferred_channel_source says so.
    behaviour.decision_style,
    behaviour.reminder_delay_hours,
    behaviour.median_decision_hours,
    behaviour.abandoned_carts,
    case
        when behaviour.preferred_channel is not null then behaviour.preferred_channel
        when {{ channel_contactable('profiles.segment_channel', 'features.marketing_opt_in') }}
            then profiles.segment_channel
    end as preferred_channel,
    case
        when behaviour.preferred_channel is not null then 'customer'
        when {{ channel_contactable('profiles.segment_channel', 'features.marketing_opt_in') }}
            then 'segment_default'
    end as preferred_channel_source,
    behaviour.channel_confidence,
    case
        when behaviour.preferred_channel is not null then behaviour.channel_note
        when {{ channel_contactable('profiles.segment_channel', 'features.marketing_opt_in') }}
            then concat_ws('; ', behaviour.channel_note, 'the segment''s channel')
        else concat_ws(
            '; ',
            behaviour.channel_note,
            format('no consent for the segment''s channel {}', profiles.segment_channel)
        )
    end as channel_note,
    -- End of behaviour.
    segments.model_version as segment_model_version,
    scores.model_version as churn_model_version
from features
left join segments using (customer_id)
left join profiles using (segment_id)
left join scores using (customer_id)
left join recommendations using (customer_id)
left join next_due using (customer_id)
left join next_season using (customer_id)
left join behaviour using (customer_id)
