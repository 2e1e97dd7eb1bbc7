-- One row per segment: who they are, what they are worth and how at risk they are.
-- Churn probabilities exist for active buyers only: the churn averages say over how many
-- customers they are taken, and lost customers (no order for a year) are counted as lost, not
-- left out of a "high risk" share that cannot include them.
with profiles as (
    select * from {{ source('ml', 'segment_profiles') }}
),

risk as (
    select
        segments.segment_id,
        count(*) as scored_rows,
        count(scores.churn_probability) as scored_customers,
        avg(scores.churn_probability) as avg_churn_probability,
        avg(case when scores.risk_tier = 'high' then 1.0 else 0.0 end) as high_risk_share,
        avg(case when scores.risk_tier = 'lost' then 1.0 else 0.0 end) as lost_share,
        avg(case when scores.risk_tier = 'no_orders' then 1.0 else 0.0 end) as no_orders_share,
        sum(scores.value_12m) as value_12m_total,
        sum(scores.predicted_revenue) as predicted_revenue_total
    from {{ source('ml', 'customer_segments') }} as segments
    join {{ source('ml', 'churn_scores') }} as scores using (customer_id)
    group by segments.segment_id
),

-- How the segment buys and where it answers (marts.customer_behaviour): shares of all its
-- customers, so the shares with no style or channel of their own are what is left.
behaviour as (
    select
        segments.segment_id,
        avg(case when behaviour.decision_style = 'impulse' then 1.0 else 0.0 end)
            as impulse_share,
        avg(case when behaviour.decision_style = 'considered' then 1.0 else 0.0 end)
            as considered_share,
        avg(case when behaviour.decision_style = 'hesitant' then 1.0 else 0.0 end)
            as hesitant_share,
        avg(case when behaviour.preferred_channel is not null then 1.0 else 0.0 end)
            as own_channel_share
    from {{ source('ml', 'customer_segments') }} as segments
    join {{ ref('customer_behaviour') }} as behaviour using (customer_id)
    group by segments.segment_id
),

channel_mix as (
    select
        segment_id,
        string_agg(
            format('{:.0f}% {}', 100 * customers / segment_customers, channel), ', '
            order by customers desc, channel
        ) as preferred_channel_mix
    from (
        select
            segments.segment_id,
            behaviour.preferred_channel as channel,
            count(*) as customers,
            sum(count(*)) over (partition by segments.segment_id) as segment_customers
        from {{ source('ml', 'customer_segments') }} as segments
        join {{ ref('customer_behaviour') }} as behaviour using (customer_id)
        group by segments.segment_id, behaviour.preferred_channel
    )
    where channel is not null
    group by segment_id
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
    coalesce(risk.scored_customers, 0) as scored_customers,
    round(coalesce(risk.scored_customers, 0) / profiles.customers, 4) as churn_scored_share,
    round(risk.avg_churn_probability, 4) as avg_churn_probability,
    round(risk.high_risk_share, 4) as high_risk_share,
    round(risk.lost_share, 4) as lost_share,
    round(risk.no_orders_share, 4) as no_orders_share,
    -- The same in words, for a dashboard tile.
    concat_ws(
        '; ',
        case when round(100 * risk.lost_share) >= 1 then
            format('{:.0f}% lost (no order for a year)', 100 * risk.lost_share) end,
        case when round(100 * risk.no_orders_share) >= 1 then
            format('{:.0f}% without orders', 100 * risk.no_orders_share) end,
        case when risk.scored_customers > 0 then
            format(
                'avg churn probability {:.2f} over the {:d} active buyers scored, {:.0f}% high risk',
                risk.avg_churn_probability,
                risk.scored_customers,
                100 * risk.high_risk_share * risk.scored_rows / risk.scored_customers
            )
        else 'no active buyers to score' end
    ) as risk_summary,
    round(risk.value_12m_total, 2) as value_12m_total,
    round(risk.predicted_revenue_total, 2) as predicted_revenue_total,
    cross_sell.cross_sell_categories,
    round(coalesce(behaviour.impulse_share, 0), 4) as impulse_share,
    round(coalesce(behaviour.considered_share, 0), 4) as considered_share,
    round(coalesce(behaviour.hesitant_share, 0), 4) as hesitant_share,
    round(coalesce(behaviour.own_channel_share, 0), 4) as own_channel_share,
    channel_mix.preferred_channel_mix,
    profiles.model_version as segment_model_version
from profiles
left join risk using (segment_id)
left join {{ source('ml', 'segment_cross_sell_summary') }} as cross_sell using (segment_id)
left join behaviour using (segment_id)
left join channel_mix using (segment_id)
