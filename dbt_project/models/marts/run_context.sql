-- The as-of date, horizon and data extent this refresh used (one row).
select * from {{ ref('int_run_context') }}
