-- The as-of date plus historical cutoffs for training snapshots. A historical cutoff is at least
-- one horizon before the as-of date, so its label window is complete and lies before as-of.
-- Historical cutoffs count back from an anchor that moves in steps of `training_anchor_days`
-- (not daily), so their snapshots can be kept between steps. `inputs_fingerprint` changes when
-- anything they read may have changed: rows dated before the end of the label window (orders,
-- lines of completed orders, daily activity), the customers first seen by then, the settings
-- they use, the RFM rules or any model's SQL. The snapshot models rebuild a cutoff when it
-- does (macros/snapshots.sql).
{%- set step = var('training_anchor_days') %}
{%- set n_cutoffs = var('training_cutoffs') %}
{%- set spacing = var('cutoff_spacing_days') %}
{%- set min_spacing = [var('min_cutoff_spacing_days'), spacing] | min %}
{%- set min_history = var('min_history_days_before_cutoff') %}
{%- set model_code = [] %}
{%- if execute %}
{%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') %}
{%- for node in models | sort(attribute='unique_id') %}
{%- do model_code.append(node.raw_code) %}
{%- endfor %}
{%- endif %}
with context as (
    select
        *,
        -- A floor modulo: DuckDB's % keeps the sign of the dividend, so for dates before the
        -- grid's origin a plain % would move the anchor after the as-of date (a label leak).
        cast(
            as_of_date - cast(
                (({{ days_between('as_of_date', "date '2000-01-03'") }}) % {{ step }} + {{ step }}) % {{ step }}
                as integer
            ) as date
        ) as anchor_date
    from {{ ref('int_run_context') }}
),

-- How many historical cutoffs, how far apart. Long histories get the configured layout. A
-- short one (its oldest configured cutoff would have less than min_history_days of completed
-- orders before it) gets its cutoffs packed into the history there is: the spacing shrinks
-- (down to min_cutoff_spacing_days) so at least 3 fit where they can, and no cutoff comes
-- earlier than min_history_days after the first completed order.
history as (
    select
        context.anchor_date,
        context.churn_horizon_days,
        cast(context.anchor_date - context.churn_horizon_days as date) as newest_cutoff,
        (
            select cast(min(ordered_at) as date) from {{ ref('int_completed_orders') }}
            where ordered_at < context.as_of_date
        ) as first_order_date
    from context
),

room as (
    select
        *,
        -- Days between the earliest allowed cutoff and the newest one (negative: none fits).
        coalesce(
            {{ days_between('newest_cutoff', '(first_order_date + ' ~ min_history ~ ')') }}, -1
        ) as span_days
    from history
),

layout as (
    select
        *,
        case
            when span_days >= {{ (n_cutoffs - 1) * spacing }} then {{ spacing }}
            else greatest({{ min_spacing }}, least({{ spacing }}, {{ integer_divide('span_days', 2) }}))
        end as cutoff_spacing_days_used
    from room
),

plan as (
    select
        *,
        case
            when span_days < 0 then 0
            else least({{ n_cutoffs }}, {{ integer_divide('span_days', 'cutoff_spacing_days_used') }} + 1)
        end as training_cutoffs_used
    from layout
),

explained as (
    select
        *,
        case
            when first_order_date is null then
                'no historical cutoff: no completed order before the as-of date'
            when training_cutoffs_used = 0 then
                'no historical cutoff: the order history (from ' || first_order_date
                || ') is shorter than one churn horizon plus {{ min_history }} days before '
                || anchor_date
            when training_cutoffs_used = {{ n_cutoffs }}
                and cutoff_spacing_days_used = {{ spacing }} then
                'configured: {{ n_cutoffs }} cutoffs {{ spacing }} days apart'
            else
                'short history: ' || training_cutoffs_used || ' cutoff(s) '
                || cutoff_spacing_days_used || ' days apart instead of {{ n_cutoffs }} x '
                || '{{ spacing }}, each at least {{ min_history }} days after the first completed '
                || 'order (' || first_order_date || ')'
        end as cutoff_note
    from plan
),

cutoffs as (
    select
        as_of_date as cutoff_date,
        true as is_current,
        0 as cutoff_index,
        churn_horizon_days
    from context

    union all

    select
        cast(newest_cutoff - cast(k * cutoff_spacing_days_used as integer) as date),
        false,
        k + 1,
        churn_horizon_days
    from explained, {{ integer_range(n_cutoffs, 'steps', 'k') }}
    where k < training_cutoffs_used
),

-- Order-insensitive hashes of the snapshot inputs per day; a cutoff's fingerprint sums the days
-- before its label window ends.
dated_inputs as (
    select
        cast(ordered_at as date) as input_date,
        {{ hash_of(['order_id', 'customer_id', 'ordered_at', 'amount', 'status']) }} as row_hash
    from {{ ref('stg_landing__orders') }}

    union all

    -- Order lines as the purchase-pattern snapshots read them (already dated; the columns
    -- they read, not the state columns the incremental build keeps).
    select
        cast(ordered_at as date),
        {{ hash_of(['customer_id', 'order_id', 'ordered_at', 'product_id', 'category',
                    'quantity', 'unit_price', 'line_amount']) }}
    from {{ ref('int_order_categories') }} as lines

    union all

    select activity_date, {{ row_hash('activity') }}
    from {{ ref('int_customer_daily_activity') }} as activity

    union all

    select cast(first_seen_at as date), {{ row_hash('customers') }}
    from {{ ref('int_customers') }} as customers
    where first_seen_at is not null
),

daily_inputs as (
    select input_date, {{ hash_sum('row_hash') }} as day_hash
    from dated_inputs
    where input_date < (select max(anchor_date) from context)
    group by input_date
),

settings as (
    select {{ hash_of([
        "'" ~ var('event_types') | join(',') ~ "'",
        var('affinity_decay_days'),
        var('association_min_customers'),
        var('association_min_support'),
        "'" ~ local_md5(model_code | join('\n')) ~ "'",
        '(select coalesce(' ~ hash_sum(row_hash('rules')) ~ ', 0) from '
            ~ ref('rfm_segment_rules') ~ ' as rules)',
    ]) }} as settings_hash
)

select
    cutoffs.cutoff_date,
    cutoffs.is_current,
    cutoffs.cutoff_index,
    cutoffs.churn_horizon_days,
    (select cutoff_spacing_days_used from explained) as cutoff_spacing_days_used,
    (select training_cutoffs_used from explained) as training_cutoffs_used,
    (select cutoff_note from explained) as cutoff_note,
    case when not cutoffs.is_current then {{ hash_of([
        'cutoffs.churn_horizon_days',
        '(select settings_hash from settings)',
        '(select coalesce(sum(day_hash), 0) from daily_inputs'
            ~ ' where input_date < cutoffs.cutoff_date + cutoffs.churn_horizon_days)',
    ]) }} end as inputs_fingerprint
from cutoffs
