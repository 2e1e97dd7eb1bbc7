-- Every landing row is accounted for: read = staged + quarantined + dropped as erased
-- + merged into another order row at the same time (mapping.yaml merge_same_time_rows).
{% set entities = ['customers', 'orders', 'order_items', 'events'] %}
with loads as (
    {% for entity in entities -%}
    select * from {{ source('landing', entity ~ '_load') }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

outcomes as (
    {% for entity in entities -%}
    select
        '{{ entity }}' as entity,
        (select count(*) from {{ ref('stg_landing__' ~ entity) }}) as rows_staged,
        (select count(*) from {{ ref('quarantine_' ~ entity) }}) as rows_quarantined
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    loads.entity,
    loads.files,
    loads.rows_read,
    loads.rows_loaded,
    loads.rows_rejected as rows_rejected_by_parser,
    loads.rows_suppressed as rows_dropped_as_erased,
    loads.rows_merged as rows_merged_same_time,
    outcomes.rows_staged,
    outcomes.rows_quarantined,
    loads.rows_read - outcomes.rows_staged - outcomes.rows_quarantined - loads.rows_suppressed
        - loads.rows_merged as rows_unaccounted,
    loads.loaded_at
from loads
join outcomes using (entity)
