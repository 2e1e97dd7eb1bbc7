{#- Typing helpers for staging. Raw columns may be text (CSV) or typed (Parquet); try_cast
    handles both, and a value that cannot be read becomes null so the row is quarantined. -#}

{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as {{ type_text() }})), '')
{%- endmacro %}

{#- ISO dates/timestamps, with or without offsets; offsets become UTC, naive values are UTC. -#}
{% macro parse_timestamp(column) -%}
    {{ try_timestamp_utc(column) }}
{%- endmacro %}

{% macro parse_number(column) -%}
    case when {{ is_finite('try_cast(' ~ column ~ ' as double)') }} then try_cast({{ column }} as double) end
{%- endmacro %}

{#- A number that reads as a number but is unusable: infinite, NaN, or beyond var('max_abs_amount')
    (1e12 by default, INSIGHTS_MAX_ABS_AMOUNT): such values overflow sums and crash models, so the
    row is quarantined instead. True only for text that parses as a double. -#}
{% macro number_out_of_range(column, limit=none) -%}
    coalesce(
        not {{ is_finite('try_cast(' ~ column ~ ' as double)') }}
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

{#- The run date (rows after the last plausible day are future-dated). -#}
{% macro run_date() -%}
    {%- if run_setting('run_date') -%} date '{{ run_setting("run_date") }}'
    {%- else -%} current_date {%- endif -%}
{%- endmacro %}

{#- The last plausible day: the run date, or a configured as-of date after it (a simulated data
    set dated in the future is legitimate when the run says so). Rows after it are future. -#}
{% macro last_valid_date() -%}
    {%- if run_setting('as_of') -%}
    greatest({{ run_date() }}, date '{{ run_setting("as_of") }}')
    {%- else -%}
    {{ run_date() }}
    {%- endif -%}
{%- endmacro %}

{#- The earliest plausible day of an entity: its `min_date` in mapping.yaml (var
    min_valid_dates), else min_valid_date (INSIGHTS_MIN_VALID_DATE, default 1950-01-01). -#}
{% macro min_valid_date(entity=none) -%}
    {%- set per_entity = var('min_valid_dates', {}) or {} -%}
    date '{{ per_entity.get(entity) or run_setting("min_valid_date") }}'
{%- endmacro %}

{#- Well-known stand-ins for "no date" (zero values of common systems). Whole days: a
    1970-01-01 epoch zero shifted by a time zone is still caught, and a day is all in or all out
    (int_customer_daily_activity relies on that); a real 1970-01-01 row is quarantined visibly. -#}
{% macro placeholder_dates() -%}
    (date '0001-01-01', date '1900-01-01', date '1970-01-01', date '9999-12-31')
{%- endmacro %}

{#- Shared timestamp checks: the reason code, or null when the timestamp is usable. The raw
    text is only looked at for rows whose timestamp did not parse (casting every typed
    timestamp back to text would cost a full pass over the events). -#}
{% macro timestamp_reject_reason(raw_column, parsed_column, entity) -%}
    case
        when {{ parsed_column }} is null then
            case when {{ clean_text(raw_column) }} is null then 'missing_date' else 'unparseable_date' end
        else {{ timestamp_range_reject_reason(parsed_column, entity) }}
    end
{%- endmacro %}

{#- Whole-day bounds: a timestamp on a placeholder day, before the entity's earliest valid date
    or after the last valid date is rejected. Every bound falls on midnight, so a day's rows
    are all in or all out (int_customer_daily_activity relies on that, via day_is_valid). -#}
{% macro timestamp_range_reject_reason(parsed_column, entity) -%}
    case
        when cast({{ parsed_column }} as date) in {{ placeholder_dates() }} then 'placeholder_date'
        when {{ parsed_column }} < {{ min_valid_date(entity) }} then 'date_too_old'
        when {{ parsed_column }} >= {{ last_valid_date() }} + interval 1 day then 'future_date'
    end
{%- endmacro %}

{#- The same bounds for a whole day: true when rows dated that day pass the range checks. -#}
{% macro day_is_valid(date_column, entity) -%}
    ({{ date_column }} not in {{ placeholder_dates() }}
     and {{ date_column }} >= {{ min_valid_date(entity) }}
     and {{ date_column }} <= {{ last_valid_date() }})
{%- endmacro %}

{#- The raw values of a row as JSON text, for the quarantine tables. -#}
{% macro raw_values_json(columns, relation) -%}
    {{ text_columns_json(columns, relation) }}
{%- endmacro %}

