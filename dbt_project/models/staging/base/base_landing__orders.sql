-- Every raw order row, typed, with the reason it cannot be used (null when it can).
-- A table: read by staging, quarantine and the audit. The typing is done once per load batch
-- (base_landing__orders_parsed); the checks that follow the run's settings and the duplicate
-- rule are made here, over the typed rows, each run.
with typed as (
    select * from {{ ref('base_landing__orders_parsed') }}
),

checked as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when customer_id is null then 'missing_customer_id'
            when {{ timestamp_reject_reason('ordered_at_unparsed', 'ordered_at', 'orders') }} is not null
                then {{ timestamp_reject_reason('ordered_at_unparsed', 'ordered_at', 'orders') }}
            when amount_missing then 'missing_amount'
            when {{ number_out_of_range('amount_number') }} then 'amount_out_of_range'
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
