-- Per customer, channel and source, over the behaviour window: how often the customer answered
-- or came back through the channel (responses) out of how many chances (opportunities).
-- email_campaigns: sends answered (an email_open or email_click within email_response_days,
--   attributed to the latest send before it) out of the sends whose response window closed
--   before the as-of date;
-- visits: sessions on the channel (web, app, ... from the properties) out of all sessions;
-- support_contacts: support tickets on the channel (chat, phone, ...) out of all tickets.
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

sends as (
    select customer_id, occurred_at as sent_at
    from {{ ref('int_behaviour_events') }}
    where event_type = 'email_sent'
),

answers as (
    select customer_id, occurred_at
    from {{ ref('int_behaviour_events') }}
    where event_type in ('email_open', 'email_click')
),

-- Each answer is attributed to the latest send before it.
answer_sends as (
    {{ latest_send_before('answers', 'sends') }}
),

answered_sends as (
    select distinct customer_id, sent_at
    from answer_sends
    where occurred_at < sent_at + {{ interval_of(var('email_response_days'), 'day') }}
),

email as (
    select
        sends.customer_id,
        'email' as channel,
        'email_campaigns' as source,
        count(*) as opportunities,
        count(answered_sends.sent_at) as responses
    from sends
    left join answered_sends using (customer_id, sent_at)
    where sends.sent_at + {{ interval_of(var('email_response_days'), 'day') }}
        <= (select as_of_date from context)
    group by sends.customer_id
),

visits as (
    select
        customer_id,
        channel,
        'visits' as source,
        sum(count(*)) over (partition by customer_id) as opportunities,
        count(*) as responses
    from {{ ref('int_behaviour_sessions') }}
    group by customer_id, channel
),

contacts as (
    select
        customer_id,
        channel,
        'support_contacts' as source,
        sum(count(*)) over (partition by customer_id) as opportunities,
        count(*) as responses
    from {{ ref('int_behaviour_events') }}
    where event_type = 'support_ticket'
    group by customer_id, channel
),

channels as (
    select * from email
    union all
    select * from visits
    union all
    select * from contacts
)

-- Sessions and tickets without a channel count among the chances, not as a channel.
select
    customer_id,
    channel,
    source,
    opportunities,
    responses,
    {% call round_half_away(4) %}responses / opportunities{% endcall %} as response_rate
from channels
where channel is not null and opportunities > 0
