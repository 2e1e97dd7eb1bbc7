-- RFM per customer as of the run's as-of date, with quintile scores and the named segment.
select
    customer_id,
    cutoff_date as as_of_date,
    {{ star_except(ref('int_customer_rfm_snapshots'), ['customer_id', 'cutoff_date', 'is_current', 'inputs_fingerprint']) }}
from {{ ref('int_customer_rfm_snapshots') }}
where is_current
