-- One row per visit session of the behaviour window (int_behaviour_events): when it started
-- and ended, its channel (the first channel in its events' properties, else
-- default_session_channel) and its first cart add.
select
    customer_id,
    session_number,
    min(occurred_at) as started_at,
    max(occurred_at) as ended_at,
    coalesce(
        {{ arg_min('channel', 'occurred_at') }} filter (where channel is not null),
        {{ "'" ~ var('default_session_channel') ~ "'" if var('default_session_channel') else 'null' }}
    ) as channel,
    min(occurred_at) filter (where event_type = 'add_to_cart') as first_cart_at
from {{ ref('int_behaviour_events') }}
where session_number is not null
group by customer_id, session_number
