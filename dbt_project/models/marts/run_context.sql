-- The as-of date, horizon and data extent this refresh used (one row), with the training
-- cutoff layout chosen for the history available (int_feature_cutoffs).
select
    context.*,
    cutoffs.cutoff_spacing_days_used,
    cutoffs.training_cutoffs_used,
    cutoffs.cutoff_note
from {{ ref('int_run_context') }} as context
cross join (
    select cutoff_spacing_days_used, training_cutoffs_used, cutoff_note
    from {{ ref('int_feature_cutoffs') }}
    where is_current
) as cutoffs
