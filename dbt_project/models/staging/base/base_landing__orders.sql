-- Every raw order row, typed, with the reason it cannot be used (null when it can).
-- A table: typed once, read by staging, quarantine and the audit.
with typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ parse_timestamp('ordered_at') }} as ordered_at,
        ordered_at as ordered_at_raw,
        {{ parse_number('amount') }} as amount,
        {{ clean_text('amount') }} as amount_text,
        {{ normalise_order_status('status') }} as status,
        _source_file,
        _source_row
    from {{ source('landing', 'orders') }}
),

checked as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when customer_id is null then 'missing_customer_id'
            when {{ timestamp_reject_reason('ordered_at_raw', 'ordered_at', 'orders') }} is not null
                then {{ timestamp_reject_reason('ordered_at_raw', 'ordered_at', 'orders') }}
            when amount_text is null then 'missing_amount'
            when {{ number_out_of_range('amount_text') }} then 'amount_out_of_range'
            when amount is null then 'unparseable_amount'
            when status is null then 'unknown_status'
            when amount < 0 and status <> 'refunded' then 'negative_amount'
        end as row_reject_reason
    from typed
)

select
    order_id,
    customer_id,
    ordered_at,
    {% call round_half_away(2) %}amount{% endcall %} as amount,
    status,
    _source_file,
    _source_row,
    coalesce(
        row_reject_reason,
        -- Duplicate order ids: the first usable row in file order wins.
        case
            when row_number() over (
                partition by order_id, row_reject_reason is null
                order by _source_file, _source_row
            ) > 1 then 'duplicate_order_id'
        end
    ) as reject_reason
from checked
