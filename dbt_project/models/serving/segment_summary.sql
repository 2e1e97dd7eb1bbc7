-- One row per segment: who they are, what they are worth and how at risk they are.
with profiles as (
    select * from {{ source('ml', 'segment_profiles') }}
),

risk as (
    select
        segments.segment_id,
        avg(scores.churn_probability) as avg_churn_probability,
        avg(case when scores.risk_tier = 'high' then 1.0 else 0.0 end) as high_risk_share,
        sum(scores.value_12m) as value_12m_total,
        sum(scores.predicted_revenue) as predicted_revenue_total
    from {{ source('ml', 'customer_segments') }} as segments
    join {{ source('ml', 'churn_scores') }} as scores using (customer_id)
    group by segments.segment_id
)

select
    profiles.as_of_date,
    profiles.segment_id,
    profiles.segment_name,
    profiles.archetype,
    profiles.description,
    profiles.recommended_action,
    profiles.channel,
    profiles.customers,
    profiles.share,
    profiles.revenue_share,
    profiles.buyer_share,
    profiles.median_recency_days,
    profiles.median_frequency,
    profiles.median_avg_order_value,
    profiles.median_monetary_total,
    profiles.rfm_segment_mix,
    round(risk.avg_churn_probability, 4) as avg_churn_probability,
    round(risk.high_risk_share, 4) as high_risk_share,
    round(risk.value_12m_total, 2) as value_12m_total,
    round(risk.predicted_revenue_total, 2) as predicted_revenue_total,
    cross_sell.cross_sell_categories,
    profiles.model_version as segment_model_version
from profiles
left join risk using (segment_id)
left join {{ source('ml', 'segment_cross_sell_summary') }} as cross_sell using (segment_id)
