-- Evaluation labels: the categories each customer bought for the first time in the window after
-- the evaluation cutoff, [cutoff, evaluation_window_end), which ends on or before the as-of
-- date. Only categories the customer had not bought before the cutoff count.
-- Incremental by cutoff: an unchanged evaluation cutoff is kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff('int_category_cutoffs')) }}

with cutoffs as (
    select cutoff_date, evaluation_window_end, inputs_fingerprint
    from ({{ cutoffs_to_build('int_category_cutoffs') }})
    where not is_current
),

window_lines as (
    select
        lines.customer_id,
        cutoffs.cutoff_date,
        cutoffs.evaluation_window_end,
        cutoffs.inputs_fingerprint,
        lines.category,
        min(lines.ordered_at) as first_bought_at
    from {{ ref('int_order_categories') }} as lines
    join cutoffs
        on lines.ordered_at >= cutoffs.cutoff_date
        and lines.ordered_at < cutoffs.evaluation_window_end
    group by all
)

select
    window_lines.customer_id,
    window_lines.cutoff_date,
    window_lines.evaluation_window_end as label_window_end,
    window_lines.category,
    window_lines.first_bought_at,
    window_lines.inputs_fingerprint
from window_lines
where not exists (
    select 1
    from {{ ref('customer_category_snapshots') }} as before_cutoff
    where before_cutoff.customer_id = window_lines.customer_id
        and before_cutoff.cutoff_date = window_lines.cutoff_date
        and before_cutoff.category = window_lines.category
)
