-- Usable customer rows: typed, trimmed, one per customer_id; the rest are in quarantine_customers.
-- Waits for the quarantine share test (quarantine_share_within_limit): too many bad rows
-- stop the build here. depends_on: {{ ref('quarantine_customers') }} {{ source('landing', 'customers_load') }}
select
    customer_id,
    signup_at,
    country,
    acquisition_channel,
    email,
    marketing_opt_in,
    _source_file,
    _source_row
from {{ ref('base_landing__customers') }}
where reject_reason is null
