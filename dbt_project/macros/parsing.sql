{#- Typing helpers for staging. Raw columns may be text (CSV) or typed (Parquet); try_cast
    handles both, and a value that cannot be read becomes null so the row is quarantined. -#}

{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as varchar)), '')
{%- endmacro %}

{#- ISO dates/timestamps, with or without offsets; offsets become UTC, naive values are UTC. -#}
{% macro parse_timestamp(column) -%}
    cast(try_cast({{ column }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro parse_number(column) -%}
    case when isfinite(try_cast({{ column }} as double)) then try_cast({{ column }} as double) end
{%- endmacro %}

{% macro parse_boolean(column) -%}
    case
        when lower({{ clean_text(column) }}) in ('true', 't', 'yes', 'y', '1') then true
        when lower({{ clean_text(column) }}) in ('false', 'f', 'no', 'n', '0') then false
    end
{%- endmacro %}

{#- Contract statuses; an empty status means completed; anything unknown becomes null. -#}
{% macro normalise_order_status(column) -%}
    case
        when {{ clean_text(column) }} is null then 'completed'
        when lower({{ clean_text(column) }}) in
            ('completed', 'complete', 'paid', 'shipped', 'delivered', 'fulfilled') then 'completed'
        when lower({{ clean_text(column) }}) in
            ('cancelled', 'canceled', 'void', 'voided') then 'cancelled'
        when lower({{ clean_text(column) }}) in ('refunded', 'refund', 'returned') then 'refunded'
    end
{%- endmacro %}

{#- The run date that bounds plausible timestamps (rows after it are future-dated). -#}
{% macro run_date() -%}
    {%- if var('run_date') -%} date '{{ var("run_date") }}' {%- else -%} current_date {%- endif -%}
{%- endmacro %}

{% macro min_valid_date() -%}
    date '{{ var("min_valid_date") }}'
{%- endmacro %}

{#- Shared timestamp checks: the reason code, or null when the timestamp is usable. -#}
{% macro timestamp_reject_reason(text_column, parsed_column) -%}
    case
        when {{ text_column }} is null then 'missing_date'
        when {{ parsed_column }} is null then 'unparseable_date'
        when {{ parsed_column }} < {{ min_valid_date() }} then 'date_too_old'
        when {{ parsed_column }} >= {{ run_date() }} + interval 1 day then 'future_date'
    end
{%- endmacro %}

{#- The raw values of a row as JSON text, for the quarantine tables. -#}
{% macro raw_values_json(columns) -%}
    to_json({ {%- for c in columns %}'{{ c }}': cast({{ c }} as varchar){% if not loop.last %}, {% endif %}{% endfor -%} })::varchar
{%- endmacro %}
