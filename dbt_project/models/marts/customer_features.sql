-- One row per customer as of the run's as-of date: profile, RFM and engagement together.
-- The input of the segmentation and prediction models.
select
    customer_id,
    cutoff_date as as_of_date,
    {{ star_except(ref('customer_feature_snapshots'), ['customer_id', 'cutoff_date', 'is_current', 'inputs_fingerprint']) }}
from {{ ref('customer_feature_snapshots') }}
where is_current
