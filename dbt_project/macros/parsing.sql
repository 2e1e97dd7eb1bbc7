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

{#- A number that reads as a number but is unusable: infinite, NaN, or beyond var('max_abs_amount')
    (1e12 by default, INSIGHTS_MAX_ABS_AMOUNT): such values overflow sums and crash models, so the
    row is quarantined instead. True only for text that parses as a double. -#}
{% macro number_out_of_range(column, limit=none) -%}
    coalesce(
        not isfinite(try_cast({{ column }} as double))
        or abs(try_cast({{ column }} as double)) > {{ limit if limit is not none else var('max_abs_amount') }},
        false
    )
{%- endmacro %}

{#- The largest quantity a staged order line can hold (the INTEGER column it is cast to). -#}
{% macro max_quantity() -%}
    2147483647
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
    {%- if run_setting('run_date') -%} date '{{ run_setting("run_date") }}'
    {%- else -%} current_date {%- endif -%}
{%- endmacro %}

{% macro min_valid_date() -%}
    date '{{ run_setting("min_valid_date") }}'
{%- endmacro %}

{#- Shared timestamp checks: the reason code, or null when the timestamp is usable. The raw
    text is only looked at for rows whose timestamp did not parse (casting every typed
    timestamp back to text would cost a full pass over the events). -#}
{% macro timestamp_reject_reason(raw_column, parsed_column) -%}
    case
        when {{ parsed_column }} is null then
            case when {{ clean_text(raw_column) }} is null then 'missing_date' else 'unparseable_date' end
        else {{ timestamp_range_reject_reason(parsed_column) }}
    end
{%- endmacro %}

{#- Whole-day bounds: a timestamp before min_valid_date or after run_date is rejected. Both
    bounds fall on midnight, so a day's rows are all in or all out (int_customer_daily_activity
    relies on that). -#}
{% macro timestamp_range_reject_reason(parsed_column) -%}
    case
        when {{ parsed_column }} < {{ min_valid_date() }} then 'date_too_old'
        when {{ parsed_column }} >= {{ run_date() }} + interval 1 day then 'future_date'
    end
{%- endmacro %}

{#- The raw values of a row as JSON text, for the quarantine tables. -#}
{% macro raw_values_json(columns, relation) -%}
    to_json({ {%- for c in columns %}'{{ c }}': cast({{ relation }}.{{ c }} as varchar){% if not loop.last %}, {% endif %}{% endfor -%} })::varchar
{%- endmacro %}

