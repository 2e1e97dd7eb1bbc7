{#- A value that changes from run to run (as-of date, run date, churn horizon, ...). Dagster
passes it as the environment variable INSIGHTS_DBT_<NAME> (orchestration/defs/dbt.py), not with
--vars: dbt re-parses the whole project when --vars change, but when an env var changes only the
files that read it. A blank or missing variable falls back to the project var (dbt_project.yml
defaults, or --vars of a hand-run `dbt build`). -#}
{% macro run_setting(name) -%}
    {%- set value = env_var('INSIGHTS_DBT_' ~ (name | upper), '') -%}
    {{- return(value if value | length > 0 else var(name)) -}}
{%- endmacro %}
