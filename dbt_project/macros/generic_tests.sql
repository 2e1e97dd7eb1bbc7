{#- Fails for rows where the column is outside [min_value, max_value] (nulls pass). -#}
{% test value_between(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }}
from {{ model }}
where
    {% if min_value is not none %}{{ column_name }} < {{ min_value }}{% else %}false{% endif %}
    or {% if max_value is not none %}{{ column_name }} > {{ max_value }}{% else %}false{% endif %}
{% endtest %}

{#- Fails for each combination of the columns that appears more than once. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Fails when the model has fewer than min_rows rows. -#}
{% test has_rows(model, min_rows=1) %}
select count(*) as row_count
from {{ model }}
having count(*) < {{ min_rows }}
{% endtest %}

{#- Fails for training rows whose label window reaches past the run's as-of date (leakage). -#}
{% test label_window_within_as_of(model) %}
select training.customer_id, training.cutoff_date, training.label_window_end
from {{ model }} as training
cross join {{ ref('int_run_context') }} as context
where training.label_window_end > context.as_of_date
{% endtest %}

{#- Fails when more than var max_quarantine_share of an entity's rows are quarantined: a
    mapping that does not fit the file (delimiter, date format, decimal separator, date floor)
    quarantines most rows, and models built on the rest would mislead. Each staging model
    depends on its quarantine model and load table, so dbt build skips everything after staging.
    orchestration/defs/dbt.py then names the file, the top reasons and the key to fix. -#}
{% test quarantine_share_within_limit(model, entity) %}
with loaded as (
    select coalesce(sum(rows_read - rows_suppressed), 0) as rows_in
    from {{ source('landing', entity ~ '_load') }}
),

quarantined as (
    select count(*) as rows_quarantined from {{ model }}
)

select
    '{{ entity }}' as entity,
    quarantined.rows_quarantined,
    loaded.rows_in,
    quarantined.rows_quarantined / loaded.rows_in as quarantined_share
from loaded, quarantined
where loaded.rows_in > 0
    and quarantined.rows_quarantined > {{ var('max_quarantine_share') }} * loaded.rows_in
{% endtest %}
