-- Point-in-time training rows: the feature snapshot of every customer at each historical
-- cutoff, with what happened in the horizon after it. `churned` is defined for buyers only
-- (a customer who never ordered cannot stop ordering).
-- Incremental by cutoff: unchanged historical cutoffs are kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff()) }}

select
    snapshots.*,
    labels.label_window_end,
    labels.future_orders,
    labels.future_revenue,
    case when snapshots.frequency > 0 then labels.future_orders = 0 end as churned
from {{ ref('customer_feature_snapshots') }} as snapshots
join {{ ref('int_customer_future_orders') }} as labels using (customer_id, cutoff_date)
where not snapshots.is_current
    and snapshots.cutoff_date in (select cutoff_date from ({{ cutoffs_to_build() }}))
