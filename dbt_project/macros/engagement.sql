{#- Event counts in the 7/30/90-day windows before one cutoff (int_feature_cutoffs.cutoff_index),
    per customer with activity in the 90 days before it. Only customers first seen before a
    cutoff can have activity before it, so the population is not needed here. only_missing:
    nothing when the model's table already holds rows of that cutoff (kept from a run before).
    cutoff_index none: every cutoff the model builds in this run (cutoffs_to_build), in one
    statement (Spark, which has no per-statement memory limit to stay under). -#}
{% macro engagement_windows(cutoff_index, only_missing=false) %}
{%- set windows = engagement_window_days() -%}
select
    activity.customer_id,
    cutoffs.cutoff_date,
    {% for event_type in var('event_types') -%}
    {% for days in windows -%}
    sum(activity.{{ event_type }}) filter (
        where activity.activity_date >= cutoffs.cutoff_date - {{ days }}
    ) as {{ event_type }}_{{ days }}d,
    {% endfor -%}
    {% endfor -%}
    sum(activity.events) filter (
        where activity.activity_date >= cutoffs.cutoff_date - 30
    ) as events_30d,
    sum(activity.events) filter (
        where activity.activity_date < cutoffs.cutoff_date - 30
        and activity.activity_date >= cutoffs.cutoff_date - 60
    ) as events_prev_30d,
    count(*) as active_days_90d,
    cutoffs.inputs_fingerprint
from {{ ref('int_customer_daily_activity') }} as activity
{% if cutoff_index is none -%}
join ({{ cutoffs_to_build() }}) as cutoffs
    on activity.activity_date < cutoffs.cutoff_date
{%- else -%}
join {{ ref('int_feature_cutoffs') }} as cutoffs
    on cutoffs.cutoff_index = {{ cutoff_index }}
    and activity.activity_date < cutoffs.cutoff_date
{%- endif %}
    and activity.activity_date >= cutoffs.cutoff_date - 90
{%- if only_missing %}
    and cutoffs.cutoff_date not in (select distinct cutoff_date from {{ this }})
{%- endif %}
group by activity.customer_id, cutoffs.cutoff_date, cutoffs.inputs_fingerprint
{% endmacro %}

{#- The engagement windows in days (columns <event_type>_<days>d). -#}
{% macro engagement_window_days() %}
{{ return([7, 30, 90]) }}
{% endmacro %}

{#- Whether int_customer_engagement_windows builds one cutoff per statement (DuckDB: bounded
    memory) or all cutoffs in one (Spark: one job instead of seven, no in-place inserts). -#}
{% macro engagement_windows_per_cutoff() %}
{{ return(adapter.dispatch('engagement_windows_per_cutoff', 'customer_insights')()) }}
{% endmacro %}
{% macro default__engagement_windows_per_cutoff() %}{{ return(true) }}{% endmacro %}
{% macro spark__engagement_windows_per_cutoff() %}{{ return(false) }}{% endmacro %}
