-- Who is a customer at each cutoff: everyone first seen strictly before it.
select
    customers.customer_id,
    cutoffs.cutoff_date,
    cutoffs.is_current,
    customers.first_seen_at,
    {{ days_between('cutoffs.cutoff_date', 'cast(customers.first_seen_at as date)') }} as tenure_days
from {{ ref('int_customers') }} as customers
join {{ ref('int_feature_cutoffs') }} as cutoffs
    on customers.first_seen_at < cutoffs.cutoff_date
