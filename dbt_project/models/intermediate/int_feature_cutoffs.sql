-- The as-of date plus historical cutoffs for training snapshots. A historical cutoff is at least
-- one horizon before the as-of date, so its label window is complete and lies before as-of.
with context as (
    select * from {{ ref('int_run_context') }}
)

select
    as_of_date as cutoff_date,
    true as is_current,
    0 as cutoff_index,
    churn_horizon_days
from context

union all

select
    cast(as_of_date - cast(churn_horizon_days + k * {{ var("cutoff_spacing_days") }} as integer) as date),
    false,
    k + 1,
    churn_horizon_days
from context, range({{ var('training_cutoffs') }}) as steps(k)
