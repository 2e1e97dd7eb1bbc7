{#- Models kept by customer (int_behaviour_events, int_category_seasons): each customer's rows
    are a function of that customer's own input rows and of settings alone. Every row stores
    `_inputs_fingerprint`: an order-insensitive sum of the hashes of the customer's input rows,
    hashed with the settings it reads and the model's own SQL. On DuckDB a run rebuilds only the
    customers whose fingerprint differs from the stored one (new, changed, or gone) and keeps
    everyone else's rows (delete+insert by customer_id). A customer whose inputs are gone is
    written as a tombstone (a row with a null fingerprint) so that delete+insert removes their
    rows; the post-hook drops it. Spark has no DELETE on Parquet: there the table is rebuilt
    each run. A changed macro is not in the fingerprint: launch with full_refresh after one. -#}
{% macro rebuild_changed_customers() -%}
    {{ return(adapter.dispatch('rebuild_changed_customers', 'customer_insights')()) }}
{%- endmacro %}
{% macro default__rebuild_changed_customers() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
               'unique_key': 'customer_id', 'on_schema_change': 'fail',
               'post_hook': "{{ drop_fingerprint_tombstones() }}"}) }}
{%- endmacro %}
{% macro spark__rebuild_changed_customers() -%}
    {{ return({'materialized': 'table', 'file_format': 'parquet'}) }}
{%- endmacro %}

{#- The CTEs of a model kept by customer: `fingerprints` (customer_fingerprints of `inputs`),
    `rebuilt` (customers_to_rebuild) and `scoped`, the rows of `inputs` of the rebuilt customers
    with their new inputs_fingerprint. -#}
{% macro customers_in_rebuild(inputs, columns, settings=[], scoped='scoped') -%}
fingerprints as (
    {{ customer_fingerprints(inputs, columns, settings) }}
),

rebuilt as (
    {{ customers_to_rebuild('fingerprints') }}
),

{{ scoped }} as (
    select {{ inputs }}.*, rebuilt.inputs_fingerprint
    from {{ inputs }}
    join rebuilt using (customer_id)
)
{%- endmacro %}

{#- Per customer of `inputs`, the fingerprint of their rows' `columns` with `settings` (SQL
    expressions) and this model's SQL, as columns customer_id, inputs_fingerprint. -#}
{% macro customer_fingerprints(inputs, columns, settings=[]) -%}
    select
        customer_id,
        {{ hash_of([hash_sum(hash_of(columns)),
                    "'" ~ local_md5(model.raw_code) ~ "'"] + settings) }} as inputs_fingerprint
    from {{ inputs }}
    group by customer_id
{%- endmacro %}

{#- The customers to build in this run, with their fingerprint (customer_id,
    inputs_fingerprint): on an incremental run those of `fingerprints` whose stored rows carry
    another fingerprint or none, and those with stored rows but no inputs now (fingerprint
    null: a tombstone); on a full build all of `fingerprints`. -#}
{% macro customers_to_rebuild(fingerprints) -%}
    {%- if is_incremental() %}
    select current.customer_id, current.inputs_fingerprint
    from {{ fingerprints }} as current
    left join (
        select distinct customer_id, _inputs_fingerprint from {{ this }}
    ) as built
        on built.customer_id = current.customer_id
        and built._inputs_fingerprint = current.inputs_fingerprint
    where built.customer_id is null
    union all
    select distinct built.customer_id, null
    from {{ this }} as built
    where not exists (
        select 1 from {{ fingerprints }} as current where current.customer_id = built.customer_id
    )
    {%- else %}
    select customer_id, inputs_fingerprint from {{ fingerprints }}
    {%- endif %}
{%- endmacro %}

{#- Post-hook: the tombstones written for customers whose inputs are gone. -#}
{% macro drop_fingerprint_tombstones() -%}
    {% if is_incremental() -%}
    delete from {{ this }} where _inputs_fingerprint is null
    {%- else -%}
    select 1
    {%- endif %}
{%- endmacro %}
