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
