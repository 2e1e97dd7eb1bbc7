{#- Rows of one entity that cannot be used, each with its source position and reason:
    rows the CSV parser rejected plus typed rows that failed a check in the base model. -#}
{% macro quarantine_rows(entity) %}
with rejected as (
    select
        _source_file as source_file,
        _source_row as source_row,
        raw_values,
        reject_reason as reason_code,
        cast(null as varchar) as detail
    from {{ ref('base_landing__' ~ entity) }}
    where reject_reason is not null

    union all

    select
        _source_file,
        _source_row,
        raw_line,
        'malformed_row',
        error_type || ': ' || error_message
    from {{ source('landing', entity ~ '_rejects') }}
)

select
    '{{ entity }}' as entity,
    rejected.source_file,
    rejected.source_row,
    rejected.raw_values,
    rejected.reason_code,
    coalesce(reasons.description, rejected.reason_code)
        || coalesce(' (' || rejected.detail || ')', '') as reason
from rejected
left join {{ ref('quarantine_reasons') }} as reasons using (reason_code)
{% endmacro %}
