-- The as-of date plus historical cutoffs for training snapshots. A historical cutoff is at least
-- one horizon before the as-of date, so its label window is complete and lies before as-of.
-- Historical cutoffs count back from an anchor that moves in steps of `training_anchor_days`
-- (not daily), so their snapshots can be kept between steps. `inputs_fingerprint` changes when
-- anything they read may have changed: rows dated before the end of the label window (orders,
-- lines of completed orders, daily activity), the customers first seen by then, the settings
-- they use, the RFM rules or any model's SQL. The snapshot models rebuild a cutoff when it
-- does (macros/snapshots.sql).
{%- set step = var('training_anchor_days') %}
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
        cast(
            as_of_date - cast((as_of_date - date '2000-01-03') % {{ step }} as integer) as date
        ) as anchor_date
    from {{ ref('int_run_context') }}
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
        cast(
            anchor_date - cast(churn_horizon_days + k * {{ var("cutoff_spacing_days") }} as integer)
            as date
        ),
        false,
        k + 1,
        churn_horizon_days
    from context, range({{ var('training_cutoffs') }}) as steps(k)
),

-- Order-insensitive hashes of the snapshot inputs per day; a cutoff's fingerprint sums the days
-- before its label window ends.
dated_inputs as (
    select
        cast(ordered_at as date) as input_date,
        hash(order_id, customer_id, ordered_at, amount, status) as row_hash
    from {{ ref('stg_landing__orders') }}

    union all

    -- Order lines as the purchase-pattern snapshots read them (already dated).
    select cast(ordered_at as date), hash(lines)
    from {{ ref('int_order_categories') }} as lines

    union all

    select activity_date, hash(activity)
    from {{ ref('int_customer_daily_activity') }} as activity

    union all

    select cast(first_seen_at as date), hash(customers)
    from {{ ref('int_customers') }} as customers
    where first_seen_at is not null
),

daily_inputs as (
    select input_date, sum(row_hash) as day_hash
    from dated_inputs
    where input_date < (select max(anchor_date) from context)
    group by input_date
),

settings as (
    select hash(
        '{{ var("event_types") | join(",") }}',
        {{ var('affinity_decay_days') }},
        {{ var('association_min_customers') }},
        {{ var('association_min_support') }},
        '{{ local_md5(model_code | join("\n")) }}',
        (select coalesce(sum(hash(rules)), 0) from {{ ref('rfm_segment_rules') }} as rules)
    ) as settings_hash
)

select
    cutoffs.cutoff_date,
    cutoffs.is_current,
    cutoffs.cutoff_index,
    cutoffs.churn_horizon_days,
    case when not cutoffs.is_current then hash(
        cutoffs.churn_horizon_days,
        (select settings_hash from settings),
        (
            select coalesce(sum(day_hash), 0) from daily_inputs
            where input_date < cutoffs.cutoff_date + cutoffs.churn_horizon_days
        )
    ) end as inputs_fingerprint
from cutoffs
