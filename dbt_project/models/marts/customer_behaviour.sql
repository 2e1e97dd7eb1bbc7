-- How each customer buys and where they answer, as of the run's as-of date, from the
-- behaviour window (behaviour_lookback_days before it; README "Behaviour"). One row per
-- customer; a decision style or preferred channel is null where the evidence is too thin, and
-- decision_note / channel_note say why.
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

population as (
    select population.customer_id, customers.marketing_opt_in
    from {{ ref('int_customer_population') }} as population
    join {{ ref('int_customers') }} as customers using (customer_id)
    where population.is_current
),

has_events as (
    select exists (select 1 from {{ ref('int_behaviour_events') }}) as any_events
),

decisions as (
    select
        customer_id,
        count(*) as purchases_with_events,
        median(decision_minutes) as median_decision_minutes,
        -- Integers: an average of decimals is a decimal on Spark (rounded to 5 places).
        avg(case when bought_in_same_session then 1 else 0 end) as same_session_share,
        avg(cart_returns) as avg_cart_returns,
        sum(cart_returns) as cart_returns,
        count(*) filter (where decision_basis = 'session') as session_basis_purchases
    from {{ ref('int_purchase_decisions') }}
    group by customer_id
),

orders as (
    select customer_id, ordered_at
    from {{ ref('int_completed_orders') }}
    where ordered_at < (select as_of_date from context)
),

old_carts as (
    -- Carts old enough to know their outcome.
    select *
    from {{ ref('int_behaviour_sessions') }}
    where first_cart_at is not null
        and first_cart_at + {{ interval_of(var('abandoned_cart_days'), 'day') }}
            <= (select as_of_date from context)
),

cart_outcomes as (
    {{ next_order_after_cart('old_carts', 'orders') }}
),

carts as (
    -- Abandoned when no order followed within abandoned_cart_days.
    select
        customer_id,
        count(*) as carts,
        count(*) filter (
            where ordered_at is null
                or ordered_at >= first_cart_at
                    + {{ interval_of(var('abandoned_cart_days'), 'day') }}
        ) as abandoned_carts
    from cart_outcomes
    group by customer_id
),

channel_totals as (
    select
        responses.customer_id,
        responses.channel,
        sum(responses.responses) as responses,
        {{ channel_contactable('responses.channel', 'population.marketing_opt_in') }}
            as contactable
    from {{ ref('int_customer_channel_responses') }} as responses
    join population using (customer_id)
    group by responses.customer_id, responses.channel, population.marketing_opt_in
),

channel_means as (
    -- Responses per customer on each channel, over the customers with any response: channels
    -- differ in volume (a visit is cheaper than an answered e-mail), so a customer's channels
    -- are compared by how far above this average they answer there.
    select
        channel,
        sum(responses) / (
            select count(distinct customer_id) from channel_totals where responses > 0
        ) as mean_responses
    from channel_totals
    group by channel
),

channel_ranks as (
    select
        channel_totals.*,
        channel_totals.responses / channel_means.mean_responses as response_index,
        sum(channel_totals.responses / channel_means.mean_responses)
            over (partition by channel_totals.customer_id) as total_index,
        sum(channel_totals.responses) over (partition by channel_totals.customer_id)
            as total_responses,
        row_number() over (
            partition by channel_totals.customer_id
            order by channel_totals.responses / channel_means.mean_responses desc,
                channel_totals.responses desc, channel_totals.channel
        ) as overall_rank,
        row_number() over (
            partition by channel_totals.customer_id, channel_totals.contactable
            order by channel_totals.responses / channel_means.mean_responses desc,
                channel_totals.responses desc, channel_totals.channel
        ) as contactable_rank
    from channel_totals
    join channel_means using (channel)
    where channel_totals.responses >= {{ var('channel_min_responses') }}
),

channels as (
    -- The channel with the highest response index among those with enough responses; the
    -- preferred one among those the customer may be contacted on.
    select
        customer_id,
        max(channel) filter (where overall_rank = 1) as top_channel,
        max(channel) filter (where contactable and contactable_rank = 1) as top_contactable,
        max(response_index / total_index) filter (where contactable and contactable_rank = 1)
            as top_contactable_confidence
    from channel_ranks
    group by customer_id
),

channel_evidence as (
    select customer_id, sum(responses) as channel_responses
    from channel_totals
    group by customer_id
),

styled as (
    select
        population.customer_id,
        population.marketing_opt_in,
        coalesce(decisions.purchases_with_events, 0) as purchases_with_events,
        {% call round_half_away(2) %}decisions.median_decision_minutes / 60.0{% endcall %}
            as median_decision_hours,
        {% call round_half_away(4) %}decisions.same_session_share{% endcall %}
            as same_session_share,
        {% call round_half_away(2) %}decisions.avg_cart_returns{% endcall %} as avg_cart_returns,
        coalesce(decisions.cart_returns, 0) as cart_returns,
        coalesce(decisions.session_basis_purchases, 0) as session_basis_purchases,
        coalesce(carts.carts, 0) as carts,
        coalesce(carts.abandoned_carts, 0) as abandoned_carts,
        case
            when coalesce(decisions.purchases_with_events, 0)
                < {{ var('decision_min_purchases') }} then null
            when decisions.median_decision_minutes < {{ var('impulse_max_median_minutes') }}
                and decisions.same_session_share >= {{ var('impulse_min_same_session_share') }}
                then 'impulse'
            when decisions.avg_cart_returns >= {{ var('hesitant_min_cart_returns') }}
                or decisions.median_decision_minutes
                    > {{ var('hesitant_min_median_hours') }} * 60
                then 'hesitant'
            else 'considered'
        end as decision_style,
        decisions.median_decision_minutes,
        channel_evidence.channel_responses,
        channels.top_channel,
        channels.top_contactable,
        channels.top_contactable_confidence
    from population
    left join decisions using (customer_id)
    left join carts using (customer_id)
    left join channels using (customer_id)
    left join channel_evidence using (customer_id)
)

select
    styled.customer_id,
    context.as_of_date,
    styled.purchases_with_events,
    styled.median_decision_hours,
    styled.same_session_share,
    styled.avg_cart_returns,
    styled.cart_returns,
    styled.session_basis_purchases,
    styled.carts,
    styled.abandoned_carts,
    styled.decision_style,
    case when styled.decision_style is not null then
        {% call round_half_away(1) %}
            least(
                greatest(
                    styled.median_decision_minutes / 60.0, {{ var('reminder_delay_min_hours') }}
                ),
                {{ var('reminder_delay_max_hours') }}
            )
        {% endcall %}
    end as reminder_delay_hours,
    case
        when not has_events.any_events then 'no events in the behaviour window'
        when styled.purchases_with_events = 0
            then 'no purchase with visit events before it'
        when styled.decision_style is null then {{ format_text(
            '{:d} purchase(s) with events before them, fewer than {:d}',
            ['styled.purchases_with_events', var('decision_min_purchases')]
        ) }}
    end as decision_note,
    coalesce(styled.channel_responses, 0) as channel_responses,
    styled.top_channel as most_responsive_channel,
    styled.top_contactable as preferred_channel,
    {% call round_half_away(4) %}styled.top_contactable_confidence{% endcall %}
        as channel_confidence,
    case
        when not has_events.any_events then 'no events in the behaviour window'
        when coalesce(styled.channel_responses, 0) = 0 then 'no responses on any channel'
        when styled.top_channel is null then {{ format_text(
            'fewer than {:d} responses on every channel', [var('channel_min_responses')]
        ) }}
        when styled.top_contactable is null then {{ format_text(
            'answers on {} without consent to be contacted there', ['styled.top_channel']
        ) }}
        when styled.top_contactable <> styled.top_channel then {{ format_text(
            'answers most on {} without consent to be contacted there; next best channel',
            ['styled.top_channel']
        ) }}
    end as channel_note
from styled
cross join context
cross join has_events
