-- One row: why the behaviour marts (replenishment cadence, seasonality) are empty, if they are.
-- Dagster shows the notes in the marts' asset metadata; null means there is data to work with.
with context as (
    select as_of_date from {{ ref('int_run_context') }}
),

lines as (
    select
        count(*) as purchase_days,
        min(purchase_date) as first_purchase_date
    from {{ ref('int_category_purchase_days') }}
),

extent as (
    select
        context.as_of_date,
        (select count(*) from {{ ref('stg_landing__order_items') }}) as order_lines,
        lines.purchase_days,
        lines.first_purchase_date,
        {{ days_between('context.as_of_date', 'lines.first_purchase_date') }} as history_days
    from context
    cross join lines
)

select
    *,
    case
        when order_lines = 0 then
            'no order lines in the landing data: no categories, so no cadence'
        when purchase_days = 0 then
            'no order lines of completed orders before the as-of date: no cadence'
    end as cadence_note,
    case
        when order_lines = 0 then
            'no order lines in the landing data: no categories, so no seasonality'
        when purchase_days = 0 then
            'no order lines of completed orders before the as-of date: no seasonality'
        when history_days < {{ var('season_min_years') }} * 365 then
            'order lines span ' || history_days || ' days before the as-of date (from '
            || first_purchase_date || '), under season_min_years = {{ var("season_min_years") }}'
            || ' years: no month can be seen recurring across years, so no seasonality'
    end as seasonality_note
from extent
