{#- Rows of one entity that cannot be used, each with its source position and reason:
    rows the CSV parser rejected plus typed rows that failed a check in the base model. -#}
{% macro quarantine_rows(entity) %}
with rejected as (
    -- The raw values come from the raw row itself, joined back by its position in the file.
    select
        base._source_file as source_file,
        base._source_row as source_row,
        {{ raw_values_json(quarantine_columns(entity), 'raw') }} as raw_values,
        base.reject_reason as reason_code,
        cast(null as {{ type_text() }}) as detail
    from {{ ref('base_landing__' ~ entity) }} as base
    join {{ source('landing', entity) }} as raw using (_source_file, _source_row)
    where base.reject_reason is not null

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

{#- The contract columns of an entity (ingest/contract.py), for the quarantine's raw values. -#}
{% macro quarantine_columns(entity) -%}
    {{ return({
        'customers': ['customer_id', 'signup_at', 'country', 'acquisition_channel', 'email',
                      'marketing_opt_in'],
        'orders': ['order_id', 'customer_id', 'ordered_at', 'amount', 'status'],
        'order_items': ['order_id', 'product_id', 'category', 'quantity', 'unit_price'],
        'events': ['customer_id', 'occurred_at', 'event_type', 'properties'],
    }[entity]) }}
{%- endmacro %}
