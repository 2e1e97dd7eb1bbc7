{#- The point-in-time snapshot models are incremental by cutoff: they keep the rows of the
    historical cutoffs whose inputs are unchanged (int_feature_cutoffs.inputs_fingerprint,
    stored on every row) and build the rest: the as-of date, new cutoffs and cutoffs whose
    inputs changed. Each model decides from its own rows, so one that failed or was skipped in
    an earlier run catches up on its next run. -#}

{#- Pre-hook: delete the rows to rebuild (the as-of date's rows have no fingerprint).
    cutoffs: the model listing the cutoffs with their fingerprints. -#}
{% macro forget_changed_cutoffs(cutoffs='int_feature_cutoffs') -%}
    {{ return(adapter.dispatch('forget_changed_cutoffs', 'customer_insights')(cutoffs)) }}
{%- endmacro %}
{% macro default__forget_changed_cutoffs(cutoffs) -%}
    {% if is_incremental() -%}
    delete from {{ this }} as built
    where not exists (
        select 1 from {{ ref(cutoffs) }} as cutoffs
        where cutoffs.cutoff_date = built.cutoff_date
            and cutoffs.inputs_fingerprint = built.inputs_fingerprint
    )
    {%- else -%}
    select 1
    {%- endif %}
{%- endmacro %}
{#- Spark (Parquet tables partitioned by cutoff_date, no DELETE): drop the partitions of the
    cutoffs to rebuild; the build then writes them back with insert_overwrite. -#}
{% macro spark__forget_changed_cutoffs(cutoffs) -%}
    {% if is_incremental() -%}
    {{ drop_partitions_of(this, 'cutoff_date', "
        select distinct built.cutoff_date from " ~ this ~ " as built
        where not exists (
            select 1 from " ~ ref(cutoffs) ~ " as cutoffs
            where cutoffs.cutoff_date = built.cutoff_date
                and cutoffs.inputs_fingerprint = built.inputs_fingerprint
        )") }}
    {%- endif %}
    select 1
{%- endmacro %}

{#- The cutoffs the model builds in this run, after its pre-hook: those it holds no rows of. -#}
{% macro cutoffs_to_build(cutoffs='int_feature_cutoffs') -%}
    select * from {{ ref(cutoffs) }}
    {%- if is_incremental() %}
    where cutoff_date not in (select distinct cutoff_date from {{ this }})
    {%- endif %}
{%- endmacro %}

{#- The config of a snapshot model incremental by cutoff:
    {{ config(**snapshot_by_cutoff()) }}. cutoffs as in forget_changed_cutoffs. -#}
{% macro snapshot_by_cutoff(cutoffs='int_feature_cutoffs') -%}
    {{ return(adapter.dispatch('snapshot_by_cutoff', 'customer_insights')(cutoffs)) }}
{%- endmacro %}
{% macro default__snapshot_by_cutoff(cutoffs) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{{ forget_changed_cutoffs('" ~ cutoffs ~ "') }}",
    }) }}
{%- endmacro %}
{#- Spark: Parquet tables partitioned by cutoff, each run overwriting the partitions of the
    cutoffs it builds (on Databricks, Delta tables could use `merge` as well). -#}
{% macro spark__snapshot_by_cutoff(cutoffs) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'file_format': 'parquet',
        'partition_by': ['cutoff_date'],
        'on_schema_change': 'fail',
        'pre_hook': "{{ forget_changed_cutoffs('" ~ cutoffs ~ "') }}",
    }) }}
{%- endmacro %}

{#- Spark: drop the partitions of `relation` whose `column` value `query` returns (run now, in
    the hook, since a Parquet table has no DELETE). -#}
{% macro drop_partitions_of(relation, column, query) -%}
    {%- if execute -%}
    {%- for row in run_query(query) -%}
    {%- if row[0] is not none -%}
    {%- do run_query("alter table " ~ relation ~ " drop if exists partition ("
        ~ column ~ " = '" ~ row[0] ~ "')") -%}
    {%- endif -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
