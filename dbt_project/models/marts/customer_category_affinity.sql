-- One row per customer and category they bought before the run's as-of date: spend, share,
-- orders, last purchase and the recency-weighted affinity. Customers without order lines have
-- no rows.
select
    customer_id,
    cutoff_date as as_of_date,
    {{ star_except(ref('customer_category_snapshots'), ['customer_id', 'cutoff_date', 'is_current', 'inputs_fingerprint']) }}
from {{ ref('customer_category_snapshots') }}
where is_current
