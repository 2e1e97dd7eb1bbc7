-- Engagement per customer as of the run's as-of date (zeros when there are no events).
select
    customer_id,
    cutoff_date as as_of_date,
    {{ star_except(ref('int_customer_engagement_snapshots'), ['customer_id', 'cutoff_date', 'is_current', 'inputs_fingerprint']) }}
from {{ ref('int_customer_engagement_snapshots') }}
where is_current
