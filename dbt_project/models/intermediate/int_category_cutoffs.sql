-- The two points in time purchase patterns are computed at: the as-of date (what customers are
-- recommended) and the newest historical cutoff (the evaluation: fit on data before it, measure
-- the categories bought in the window after it, which ends on or before the as-of date).
select
    cutoff_date,
    is_current,
    case
        when not is_current then cast(cutoff_date + churn_horizon_days as date)
    end as evaluation_window_end,
    inputs_fingerprint
from {{ ref('int_feature_cutoffs') }}
where is_current or cutoff_index = 1
