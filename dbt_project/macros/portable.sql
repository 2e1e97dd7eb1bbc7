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

{#- The behaviour models (issue 21) on Spark. -#}

{#- A date `days` whole days after / before `day` (a date). -#}
{% macro date_plus_days(day, days) -%}
    {{ return(adapter.dispatch('date_plus_days', 'customer_insights')(day, days)) }}
{%- endmacro %}
{% macro default__date_plus_days(day, days) -%}{{ day }} + {{ days }}{%- endmacro %}
{% macro spark__date_plus_days(day, days) -%}date_add({{ day }}, {{ days }}){%- endmacro %}
{% macro date_minus_days(day, days) -%}
    {{ return(adapter.dispatch('date_minus_days', 'customer_insights')(day, days)) }}
{%- endmacro %}
{% macro default__date_minus_days(day, days) -%}{{ day }} - {{ days }}{%- endmacro %}
{% macro spark__date_minus_days(day, days) -%}date_sub({{ day }}, {{ days }}){%- endmacro %}

{#- An interval of `amount` (a whole number, e.g. a var) `unit`s (minute, day), to add to a
    timestamp. -#}
{% macro interval_of(amount, unit) -%}
    {{ return(adapter.dispatch('interval_of', 'customer_insights')(amount, unit)) }}
{%- endmacro %}
{% macro default__interval_of(amount, unit) -%}interval ({{ amount }}) {{ unit }}{%- endmacro %}
{% macro spark__interval_of(amount, unit) -%}interval {{ amount }} {{ unit }}{%- endmacro %}

{#- `day` (a date) `months` calendar months earlier (month ends clipped). -#}
{% macro date_minus_months(day, months) -%}
    {{ return(adapter.dispatch('date_minus_months', 'customer_insights')(day, months)) }}
{%- endmacro %}
{% macro default__date_minus_months(day, months) -%}
    {{ day }} - to_months({{ months }})
{%- endmacro %}
{% macro spark__date_minus_months(day, months) -%}
    add_months({{ day }}, -({{ months }}))
{%- endmacro %}

{#- The value of `value` on the row with the lowest / highest `by` (an aggregate). -#}
{% macro arg_min(value, by) -%}
    {{ return(adapter.dispatch('arg_min', 'customer_insights')(value, by)) }}
{%- endmacro %}
{% macro default__arg_min(value, by) -%}arg_min({{ value }}, {{ by }}){%- endmacro %}
{% macro spark__arg_min(value, by) -%}min_by({{ value }}, {{ by }}){%- endmacro %}
{% macro arg_max(value, by) -%}
    {{ return(adapter.dispatch('arg_max', 'customer_insights')(value, by)) }}
{%- endmacro %}
{% macro default__arg_max(value, by) -%}arg_max({{ value }}, {{ by }}){%- endmacro %}
{% macro spark__arg_max(value, by) -%}max_by({{ value }}, {{ by }}){%- endmacro %}

{#- Text from a template with DuckDB format() placeholders (`{}` any value, `{:d}` an
    integer) filled with `args` (SQL expressions). -#}
{% macro format_text(template, args) -%}
    {{ return(adapter.dispatch('format_text', 'customer_insights')(template, args)) }}
{%- endmacro %}
{% macro default__format_text(template, args) -%}
    format('{{ template }}', {{ args | join(', ') }})
{%- endmacro %}
{% macro spark__format_text(template, args) -%}
    format_string('{{ template | replace('%', '%%') | replace('{:d}', '%d') | replace('{}', '%s') }}', {{ args | join(', ') }})
{%- endmacro %}

{#- The English three-letter name of month `month` (1-12): Jan, Feb, ... -#}
{% macro month_abbreviation(month) -%}
    {{ return(adapter.dispatch('month_abbreviation', 'customer_insights')(month)) }}
{%- endmacro %}
{% macro default__month_abbreviation(month) -%}
    strftime(make_date(2000, {{ month }}, 1), '%b')
{%- endmacro %}
{% macro spark__month_abbreviation(month) -%}
    date_format(make_date(2000, {{ month }}, 1), 'MMM')
{%- endmacro %}

{#- The texts of a group joined by `separator` in the order of `order_by` (an aggregate). -#}
{% macro ordered_text_agg(text, separator, order_by) -%}
    {{ return(adapter.dispatch('ordered_text_agg', 'customer_insights')(text, separator, order_by)) }}
{%- endmacro %}
{% macro default__ordered_text_agg(text, separator, order_by) -%}
    string_agg(
            {{ text }}, {{ separator }} order by {{ order_by }}
        )
{%- endmacro %}
{% macro spark__ordered_text_agg(text, separator, order_by) -%}
    array_join(transform(
        array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', {{ text }}))),
        x -> x.v
    ), {{ separator }})
{%- endmacro %}

{#- A FROM item with the integers start .. stop-1 in column `column`, named `alias`. -#}
{% macro integer_span(start, stop, alias, column) -%}
    {{ return(adapter.dispatch('integer_span', 'customer_insights')(start, stop, alias, column)) }}
{%- endmacro %}
{% macro default__integer_span(start, stop, alias, column) -%}
    range({{ start }}, {{ stop }}) as {{ alias }}({{ column }})
{%- endmacro %}
{% macro spark__integer_span(start, stop, alias, column) -%}
    (select cast(id as int) as {{ column }} from range({{ start }}, {{ stop }})) as {{ alias }}
{%- endmacro %}

{#- `relation` with each row repeated for the integers start .. stop-1 (columns of the row),
    in column `column`; a row with start >= stop has no rows. -#}
{% macro each_integer_in_span(relation, start, stop, alias, column) -%}
    {{ return(adapter.dispatch('each_integer_in_span', 'customer_insights')(relation, start, stop, alias, column)) }}
{%- endmacro %}
{% macro default__each_integer_in_span(relation, start, stop, alias, column) -%}
    {{ relation }}, range({{ start }}, {{ stop }}) as {{ alias }}({{ column }})
{%- endmacro %}
{% macro spark__each_integer_in_span(relation, start, stop, alias, column) -%}
    {{ relation }} lateral view explode(
        if({{ start }} < {{ stop }}, sequence({{ start }}, {{ stop }} - 1), array())
    ) {{ alias }} as {{ column }}
{%- endmacro %}

{#- The text of key `key` of a JSON object held as text; null when the text is not a JSON
    object or has no such key. Spark's get_json_object is laxer with broken text (it reads the
    first JSON value and ignores anything after it) and writes numbers in their shortest form
    (1.50 as 1.5). -#}
{% macro json_object_text(column, key) -%}
    {{ return(adapter.dispatch('json_object_text', 'customer_insights')(column, key)) }}
{%- endmacro %}
{% macro default__json_object_text(column, key) -%}
    case when json_valid({{ column }}) and json_type({{ column }}) = 'OBJECT'
            then json_extract_string({{ column }}, '$.{{ key }}')
        end
{%- endmacro %}
{% macro spark__json_object_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}

{#- ln(Gamma(x)) of a positive double. Spark has no lgamma: Apache Commons Math's (a Spark
    dependency) through reflect(), which returns text (Double.toString, exact). -#}
{% macro log_gamma(x) -%}
    {{ return(adapter.dispatch('log_gamma', 'customer_insights')(x)) }}
{%- endmacro %}
{% macro default__log_gamma(x) -%}lgamma({{ x }}){%- endmacro %}
{% macro spark__log_gamma(x) -%}
    cast(reflect('org.apache.commons.math3.special.Gamma', 'logGamma', cast({{ x }} as double)) as double)
{%- endmacro %}

{#- Per answer row of `answers` (customer_id, occurred_at), the latest send of `sends`
    (customer_id, sent_at) at or before it, as columns customer_id, occurred_at, sent_at;
    answers without an earlier send are left out. DuckDB: an as-of join. -#}
{% macro latest_send_before(answers, sends) -%}
    {{ return(adapter.dispatch('latest_send_before', 'customer_insights')(answers, sends)) }}
{%- endmacro %}
{% macro default__latest_send_before(answers, sends) -%}
    select {{ sends }}.customer_id, answers.occurred_at, {{ sends }}.sent_at
    from {{ answers }} as answers
    asof join {{ sends }}
        on answers.customer_id = {{ sends }}.customer_id
        and answers.occurred_at >= {{ sends }}.sent_at
{%- endmacro %}
{#- Spark has no as-of join: the latest earlier send is the maximum send time before it (an
    answer is its customer and time; two answers at one time have the same latest send). -#}
{% macro spark__latest_send_before(answers, sends) -%}
    select answers.customer_id, answers.occurred_at, max({{ sends }}.sent_at) as sent_at
    from {{ answers }} as answers
    join {{ sends }}
        on answers.customer_id = {{ sends }}.customer_id
        and answers.occurred_at >= {{ sends }}.sent_at
    group by answers.customer_id, answers.occurred_at
{%- endmacro %}

{#- Per cart row of `carts` (customer_id, session_number, first_cart_at), the customer's first
    order of `orders` (customer_id, ordered_at) at or after the cart add, as column ordered_at
    (null when none followed). DuckDB: an as-of left join. -#}
{% macro next_order_after_cart(carts, orders) -%}
    {{ return(adapter.dispatch('next_order_after_cart', 'customer_insights')(carts, orders)) }}
{%- endmacro %}
{% macro default__next_order_after_cart(carts, orders) -%}
    select carts.*, {{ orders }}.ordered_at
    from {{ carts }} as carts
    asof left join {{ orders }}
        on carts.customer_id = {{ orders }}.customer_id
        and carts.first_cart_at <= {{ orders }}.ordered_at
{%- endmacro %}
{#- Spark has no as-of join: the next order is the earliest one at or after the cart add (a
    cart is its customer and session). -#}
{% macro spark__next_order_after_cart(carts, orders) -%}
    select carts.*, next_orders.ordered_at
    from {{ carts }} as carts
    left join (
        select carts.customer_id, carts.session_number, min({{ orders }}.ordered_at) as ordered_at
        from {{ carts }} as carts
        join {{ orders }}
            on carts.customer_id = {{ orders }}.customer_id
            and carts.first_cart_at <= {{ orders }}.ordered_at
        group by carts.customer_id, carts.session_number
    ) as next_orders
        on next_orders.customer_id = carts.customer_id
        and next_orders.session_number = carts.session_number
{%- endmacro %}
