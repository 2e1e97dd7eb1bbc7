{#- Helpers of the models kept incrementally (events typed per load batch, daily activity). -#}

{#- For a model incremental on the loader's _batch: before it runs, forget rows of batches
    the raw table no longer holds (the loader reloaded everything), so they are rebuilt. -#}
{% macro delete_stale_batches(raw_relation) -%}
    {{ return(adapter.dispatch('delete_stale_batches', 'customer_insights')(raw_relation)) }}
{%- endmacro %}
{% macro default__delete_stale_batches(raw_relation) -%}
    {% if is_incremental() -%}
    delete from {{ this }} where _batch not in (select distinct _batch from {{ raw_relation }})
    {%- else -%}
    select 1
    {%- endif %}
{%- endmacro %}

{#- For an incremental aggregate of batch-stamped rows (tracking the newest batch it has seen
    in last_batch): when batches it aggregated are gone upstream (a full reload), empty it so
    the run rebuilds it from everything. -#}
{% macro reset_when_batches_removed(batched_relation) -%}
    {% if is_incremental() -%}
    delete from {{ this }}
    where exists (
        select 1 from (select distinct last_batch from {{ this }}) as seen
        where seen.last_batch not in (select distinct _batch from {{ batched_relation }})
    )
    {%- else -%}
    select 1
    {%- endif %}
{%- endmacro %}

{#- Spark (Parquet tables, no DELETE): the batch-stamped model is partitioned by _batch, and
    the partitions of batches gone upstream are dropped. -#}
{% macro spark__delete_stale_batches(raw_relation) -%}
    {% if is_incremental() -%}
    {{ drop_partitions_of(this, '_batch', "select distinct _batch from " ~ this
        ~ " where _batch not in (select distinct _batch from " ~ raw_relation ~ ")") }}
    {%- endif %}
    select 1
{%- endmacro %}

{#- The config of a model appending one load batch per run: {{ config(**append_by_batch()) }}. -#}
{% macro append_by_batch() -%}
    {{ return(adapter.dispatch('append_by_batch', 'customer_insights')()) }}
{%- endmacro %}
{% macro default__append_by_batch() -%}
    {{ return({'incremental_strategy': 'append'}) }}
{%- endmacro %}
{% macro spark__append_by_batch() -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'file_format': 'parquet',
               'partition_by': ['_batch']}) }}
{%- endmacro %}

{#- The config of int_customer_event_days: incremental on DuckDB, deleting and inserting the
    customer-days a new batch touches. Spark has no DELETE on Parquet, and one partition per
    day costs more than it saves (a metastore entry per day: 84 s to create against 24 s for
    the plain table, 2,000 customers and a year of days on a busy 2-core machine), so there it
    is a table rebuilt each run from the incrementally typed events. -#}
{% macro replace_customer_days() -%}
    {{ return(adapter.dispatch('replace_customer_days', 'customer_insights')()) }}
{%- endmacro %}
{% macro default__replace_customer_days() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
               'unique_key': ['customer_id', 'activity_date']}) }}
{%- endmacro %}
{% macro spark__replace_customer_days() -%}
    {{ return({'materialized': 'table', 'file_format': 'parquet'}) }}
{%- endmacro %}

{#- The order models kept by customer (int_completed_orders, int_order_categories). On DuckDB a
    run rebuilds only the customers whose orders or lines may have changed since the model's
    last run (delete+insert by customer_id) and keeps everyone else's rows. Every row carries
    the state it was built from: _orders_batch and _lines_batch (the newest typed load batch),
    _valid_through (the last valid order date of that run: rows after it were future-dated)
    and _check_settings (the other settings the order checks read). Spark has no DELETE on
    Parquet: there they are tables rebuilt each run. -#}
{% macro rebuild_by_customer() -%}
    {{ return(adapter.dispatch('rebuild_by_customer', 'customer_insights')()) }}
{%- endmacro %}
{% macro default__rebuild_by_customer() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
               'unique_key': 'customer_id', 'on_schema_change': 'fail',
               'post_hook': "{{ drop_customer_tombstones() }}"}) }}
{%- endmacro %}
{% macro spark__rebuild_by_customer() -%}
    {{ return({'materialized': 'table', 'file_format': 'parquet'}) }}
{%- endmacro %}

{#- The settings besides the last valid date that decide which order rows and lines are usable. -#}
{% macro order_check_settings() -%}
    '{{ (min_valid_date("orders") ~ "|" ~ var("max_abs_amount")) | replace("'", "") | trim }}'
{%- endmacro %}

{#- The state columns of a row built now. -#}
{% macro order_state_columns(lines=false) -%}
    (select coalesce(max(_batch), 0) from {{ ref('base_landing__orders_parsed') }}) as _orders_batch,
    {%- if lines %}
    (select coalesce(max(_batch), 0) from {{ ref('base_landing__order_items_parsed') }}) as _lines_batch,
    {%- endif %}
    cast({{ last_valid_date() }} as date) as _valid_through,
    {{ order_check_settings() }} as _check_settings
{%- endmacro %}

{#- True when the model's rows cannot be updated by difference: other check settings, or the
    typed batch they were built from is gone (the loader reloaded everything). -#}
{% macro order_state_reset(lines=false) -%}
    (exists (select 1 from {{ this }} where _check_settings <> {{ order_check_settings() }})
     or not exists (
        select 1 from {{ ref('base_landing__orders_parsed') }}
        where _batch = (select max(_orders_batch) from {{ this }}))
     {%- if lines %}
     or not exists (
        select 1 from {{ ref('base_landing__order_items_parsed') }}
        where _batch = (select max(_lines_batch) from {{ this }}))
     {%- endif %})
{%- endmacro %}

{#- Order ids whose usable row may differ from the model's last run: rows of newer load batches
    (a new order, or another row for an existing id, which the duplicate rule may prefer) and
    rows dated after the earlier of that run's and this run's last valid date (their
    future-date verdict may have changed). Duplicates share the id, so the id covers them. -#}
{% macro changed_order_ids() -%}
    select order_id from {{ ref('base_landing__orders_parsed') }}
    where order_id is not null
        and (_batch > (select max(_orders_batch) from {{ this }})
            or ordered_at >= least(
                (select max(_valid_through) from {{ this }}), cast({{ last_valid_date() }} as date)
            ) + interval 1 day)
{%- endmacro %}

{#- The CTEs `affected` and `in_scope` of a model kept by customer: the customers who own a
    changed order id (CTE `changed`) in `rows` now or in this model's last run (the duplicate
    rule may move an order id to another row), all of them when order_state_reset says the rows
    cannot be updated by difference; and the rows of `rows` of those customers. -#}
{% macro customers_in_scope(rows, lines=false) -%}
affected as (
    select customer_id from {{ rows }}
    where order_id in (select order_id from changed) or {{ order_state_reset(lines=lines) }}
    union
    select customer_id from {{ this }}
    where order_id in (select order_id from changed) or {{ order_state_reset(lines=lines) }}
),

in_scope as (
    select * from {{ rows }} where customer_id in (select customer_id from affected)
)
{%- endmacro %}

{#- Post-hook: an affected customer left without rows is written as one row with a null
    order_id, so delete+insert removes their old rows; the tombstone goes here. -#}
{% macro drop_customer_tombstones() -%}
    {% if is_incremental() -%}
    delete from {{ this }} where order_id is null
    {%- else -%}
    select 1
    {%- endif %}
{%- endmacro %}
