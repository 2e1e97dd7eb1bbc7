-- Every raw customer row, typed, with the reason it cannot be used (null when it can).
-- A table: typed once, read by staging, quarantine and the audit.
with typed as (
    select
        {{ clean_text('customer_id') }} as customer_id,
        {{ parse_timestamp('signup_at') }} as signup_at,
        signup_at as signup_at_raw,
        upper({{ clean_text('country') }}) as country,
        lower({{ clean_text('acquisition_channel') }}) as acquisition_channel,
        lower({{ clean_text('email') }}) as email,
        {{ parse_boolean('marketing_opt_in') }} as marketing_opt_in,
        _source_file,
        _source_row
    from {{ source('landing', 'customers') }}
),

checked as (
    select
        *,
        case
            when customer_id is null then 'missing_customer_id'
            -- A customer without a signup date is still a customer; a garbled one is not trusted.
            when {{ clean_text('signup_at_raw') }} is not null
                and {{ timestamp_reject_reason('signup_at_raw', 'signup_at', 'customers') }} is not null
                then {{ timestamp_reject_reason('signup_at_raw', 'signup_at', 'customers') }}
        end as row_reject_reason
    from typed
)

select
    customer_id,
    signup_at,
    country,
    acquisition_channel,
    email,
    marketing_opt_in,
    _source_file,
    _source_row,
    coalesce(
        row_reject_reason,
        case
            when row_number() over (
                partition by customer_id, row_reject_reason is null
                order by _source_file, _source_row
            ) > 1 then 'duplicate_customer_id'
        end
    ) as reject_reason
from checked
