{#- Helpers of the models kept incrementally (events typed per load batch, daily activity). -#}

{#- For a model incremental on the loader's _batch: before it runs, forget rows of batches
    the raw table no longer holds (the loader reloaded everything), so they are rebuilt. -#}
{% macro delete_stale_batches(raw_relation) -%}
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
