{#- Engine-specific SQL behind adapter.dispatch: `default__` is the DuckDB SQL the models always
    used (DuckDB, and any adapter without its own version), `spark__` the Apache Spark SQL
    (dbt-spark, and dbt-databricks, which dispatches to spark__ after databricks__). Each pair
    must give the same values; tests/test_spark_equivalence.py builds both and compares. -#}

{#- The text type of casts (`varchar` in DuckDB; Spark needs a length for varchar). -#}
{% macro type_text() -%}
    {{ return(adapter.dispatch('type_text', 'customer_insights')()) }}
{%- endmacro %}
{% macro default__type_text() -%}varchar{%- endmacro %}
{% macro spark__type_text() -%}string{%- endmacro %}

{#- A text or typed value as a UTC timestamp without zone; null when it cannot be read.
    Spark: the dbt profile sets the session time zone to UTC, so naive values are UTC too. -#}
{% macro try_timestamp_utc(column) -%}
    {{ return(adapter.dispatch('try_timestamp_utc', 'customer_insights')(column)) }}
{%- endmacro %}
{% macro default__try_timestamp_utc(column) -%}
    cast(try_cast({{ column }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}
{% macro spark__try_timestamp_utc(column) -%}
    try_cast({{ column }} as timestamp)
{%- endmacro %}

{#- True for a finite double, false for infinities and NaN, null for null. -#}
{% macro is_finite(expression) -%}
    {{ return(adapter.dispatch('is_finite', 'customer_insights')(expression)) }}
{%- endmacro %}
{% macro default__is_finite(expression) -%}isfinite({{ expression }}){%- endmacro %}
{% macro spark__is_finite(expression) -%}
    (abs({{ expression }}) < double('Infinity') and not isnan({{ expression }}))
{%- endmacro %}

{#- Whole days from `earlier` to `later` (dates), as an integer. -#}
{% macro days_between(later, earlier) -%}
    {{ return(adapter.dispatch('days_between', 'customer_insights')(later, earlier)) }}
{%- endmacro %}
{% macro default__days_between(later, earlier) -%}{{ later }} - {{ earlier }}{%- endmacro %}
{% macro spark__days_between(later, earlier) -%}datediff({{ later }}, {{ earlier }}){%- endmacro %}

{#- Seconds from timestamp `start` to timestamp `end` (second boundaries crossed). -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'customer_insights')(start, end)) }}
{%- endmacro %}
{% macro default__seconds_between(start, end) -%}
    date_diff('second', {{ start }}, {{ end }})
{%- endmacro %}
{#- A double on Spark: divided by a decimal literal (86400.0) it stays a double, as in DuckDB. -#}
{% macro spark__seconds_between(start, end) -%}
    cast(unix_seconds({{ end }}) - unix_seconds({{ start }}) as double)
{%- endmacro %}

{#- Integer division rounding toward zero for non-negative operands. -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'customer_insights')(dividend, divisor)) }}
{%- endmacro %}
{% macro default__integer_divide(dividend, divisor) -%}{{ dividend }} // {{ divisor }}{%- endmacro %}
{% macro spark__integer_divide(dividend, divisor) -%}{{ dividend }} div {{ divisor }}{%- endmacro %}

{#- A FROM item with the integers 0 .. n-1 in column `column`, named `alias`. -#}
{% macro integer_range(n, alias, column) -%}
    {{ return(adapter.dispatch('integer_range', 'customer_insights')(n, alias, column)) }}
{%- endmacro %}
{% macro default__integer_range(n, alias, column) -%}
    range({{ n }}) as {{ alias }}({{ column }})
{%- endmacro %}
{% macro spark__integer_range(n, alias, column) -%}
    (select cast(id as int) as {{ column }} from range({{ n }})) as {{ alias }}
{%- endmacro %}

{#- A 64-bit hash of the values (fingerprints only compare hashes of one engine). -#}
{% macro hash_of(values) -%}
    {{ return(adapter.dispatch('hash_of', 'customer_insights')(values)) }}
{%- endmacro %}
{% macro default__hash_of(values) -%}hash({{ values | join(', ') }}){%- endmacro %}
{% macro spark__hash_of(values) -%}xxhash64({{ values | join(', ') }}){%- endmacro %}

{#- A hash of a whole row, by its relation alias. -#}
{% macro row_hash(alias) -%}
    {{ return(adapter.dispatch('row_hash', 'customer_insights')(alias)) }}
{%- endmacro %}
{% macro default__row_hash(alias) -%}hash({{ alias }}){%- endmacro %}
{% macro spark__row_hash(alias) -%}xxhash64(struct({{ alias }}.*)){%- endmacro %}

{#- An order-insensitive sum of hashes that cannot overflow (DuckDB sums into a HUGEINT). -#}
{% macro hash_sum(expression) -%}
    {{ return(adapter.dispatch('hash_sum', 'customer_insights')(expression)) }}
{%- endmacro %}
{% macro default__hash_sum(expression) -%}sum({{ expression }}){%- endmacro %}
{% macro spark__hash_sum(expression) -%}sum(cast({{ expression }} as decimal(38, 0))){%- endmacro %}

{#- JSON text of an object whose keys are `columns` and values the columns of `relation` as
    text (nulls kept as JSON null). -#}
{% macro text_columns_json(columns, relation) -%}
    {{ return(adapter.dispatch('text_columns_json', 'customer_insights')(columns, relation)) }}
{%- endmacro %}
{% macro default__text_columns_json(columns, relation) -%}
    to_json({ {%- for c in columns %}'{{ c }}': cast({{ relation }}.{{ c }} as varchar){% if not loop.last %}, {% endif %}{% endfor -%} })::varchar
{%- endmacro %}
{% macro spark__text_columns_json(columns, relation) -%}
    to_json(named_struct(
        {%- for c in columns %}'{{ c }}', cast({{ relation }}.{{ c }} as string){% if not loop.last %}, {% endif %}{% endfor -%}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}

{#- Every column of `relation` except `excluded`, qualified by `prefix` when given. DuckDB has
    `* exclude (...)`; on Spark the columns are listed from the built relation (at parse time,
    before anything is built, a plain star stands in). -#}
{% macro star_except(relation, excluded, prefix=none) -%}
    {{ return(adapter.dispatch('star_except', 'customer_insights')(relation, excluded, prefix)) }}
{%- endmacro %}
{% macro default__star_except(relation, excluded, prefix) -%}
    {{ prefix ~ '.' if prefix }}* exclude ({{ excluded | join(', ') }})
{%- endmacro %}
{% macro spark__star_except(relation, excluded, prefix) -%}
    {%- if not execute -%}
    {{ prefix ~ '.' if prefix }}*
    {%- else -%}
    {%- set kept = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- if column.name | lower not in excluded | map('lower') | list -%}
    {%- do kept.append((prefix ~ '.' if prefix else '') ~ column.name) -%}
    {%- endif -%}
    {%- endfor -%}
    {{ kept | join(', ') }}
    {%- endif -%}
{%- endmacro %}

{#- Per population row (customer_id, cutoff_date), the latest row of `cumulative` (customer_id,
    activity_date, active_days_total) strictly before the cutoff; rows without one are left
    out. DuckDB: an as-of join (no join of every cutoff to every activity day). -#}
{% macro latest_activity_before_cutoff(population, cumulative) -%}
    {{ return(adapter.dispatch('latest_activity_before_cutoff', 'customer_insights')(population, cumulative)) }}
{%- endmacro %}
{% macro default__latest_activity_before_cutoff(population, cumulative) -%}
    select
        {{ population }}.customer_id,
        {{ population }}.cutoff_date,
        {{ cumulative }}.activity_date as last_activity_date,
        {{ cumulative }}.active_days_total
    from {{ population }}
    asof join {{ cumulative }}
        on {{ cumulative }}.customer_id = {{ population }}.customer_id
        and {{ cumulative }}.activity_date < {{ population }}.cutoff_date
{%- endmacro %}
{#- Spark has no as-of join: the running count is increasing in activity_date, so the latest
    row's values are the maxima over the rows before the cutoff. -#}
{% macro spark__latest_activity_before_cutoff(population, cumulative) -%}
    select
        {{ population }}.customer_id,
        {{ population }}.cutoff_date,
        max({{ cumulative }}.activity_date) as last_activity_date,
        max({{ cumulative }}.active_days_total) as active_days_total
    from {{ population }}
    join {{ cumulative }}
        on {{ cumulative }}.customer_id = {{ population }}.customer_id
        and {{ cumulative }}.activity_date < {{ population }}.cutoff_date
    group by {{ population }}.customer_id, {{ population }}.cutoff_date
{%- endmacro %}

{#- round(x, digits) of a double as DuckDB rounds it: the binary value, half away from zero
    (round(2.675, 2) = 2.67, since 2.675 is 2.67499999... in binary). Spark's round() rounds
    the shortest decimal text of the double half up (2.68); so on Spark the product
    x * 10^digits is split into its rounded double and its exact error (Dekker's product with
    Veltkamp's split), and only a product that lands exactly on .5 looks at the error. -#}
{#- Used as a call block around the expression: {% call round_half_away(2) %}x{% endcall %}. -#}
{% macro round_half_away(digits) -%}
    {{ return(adapter.dispatch('round_half_away', 'customer_insights')(caller(), digits)) }}
{%- endmacro %}
{% macro default__round_half_away(expression, digits) -%}
    round({{ expression }}, {{ digits }})
{%- endmacro %}
{% macro spark__round_half_away(expression, digits) -%}
    {%- set scale = 'cast(1e' ~ digits ~ ' as double)' -%}
    transform(array(cast({{ expression }} as double)), x -> transform(array(x * {{ scale }}), p -> (
        case
            when p - floor(p) > 0.5 then floor(p) + 1
            when p - floor(p) < 0.5 then floor(p)
            -- p is k + 0.5 as a double: the exact product decides (error of x * scale).
            when ((x * 134217729.0d - (x * 134217729.0d - x)) * {{ scale }} - p)
                + (x - (x * 134217729.0d - (x * 134217729.0d - x))) * {{ scale }} > 0
                then floor(p) + 1
            when ((x * 134217729.0d - (x * 134217729.0d - x)) * {{ scale }} - p)
                + (x - (x * 134217729.0d - (x * 134217729.0d - x))) * {{ scale }} < 0
                then floor(p)
            when p > 0 then floor(p) + 1
            else floor(p)
        end) / {{ scale }})[0])[0]
{%- endmacro %}

{#- The sum of amounts held in whole cents (staging rounds them to 2 decimals), as a double.
    Summed as exact decimals, so the total does not depend on the order rows are added in
    (a double sum does: threads, engines), and round(total / n, 2) agrees across engines.
    filter: an optional condition (the aggregate's FILTER clause). -#}
{% macro sum_of_cents(expression, filter=none) -%}
    cast(sum(cast({{ expression }} as decimal(38, 2)))
    {%- if filter is not none %} filter (where {{ filter }}){% endif %} as double)
{%- endmacro %}
