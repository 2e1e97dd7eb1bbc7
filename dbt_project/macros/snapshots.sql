{#- The point-in-time snapshot models are incremental by cutoff: they keep the rows of the
    historical cutoffs whose inputs are unchanged (int_feature_cutoffs.inputs_fingerprint,
    stored on every row) and build the rest: the as-of date, new cutoffs and cutoffs whose
    inputs changed. Each model decides from its own rows, so one that failed or was skipped in
    an earlier run catches up on its next run. -#}

{#- Pre-hook: delete the rows to rebuild (the as-of date's rows have no fingerprint).
    cutoffs: the model listing the cutoffs with their fingerprints. -#}
{% macro forget_changed_cutoffs(cutoffs='int_feature_cutoffs') -%}
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
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{{ forget_changed_cutoffs('" ~ cutoffs ~ "') }}",
    }) }}
{%- endmacro %}
