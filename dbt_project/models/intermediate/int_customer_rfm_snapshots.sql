-- R/F/M quintile scores and the named RFM segment per customer and cutoff.
--
-- Scores rank buyers (frequency > 0) within a cutoff: score = 1 + floor(5 * (rank - 1) / n),
-- where rank() gives tied values the same, lowest rank. Equal values therefore always share a
-- score (deterministic, no tie-break by id), and a large tie can skip a score. Recency ranks
-- descending (fewer days is better), frequency and monetary ascending.
-- Incremental by cutoff: unchanged historical cutoffs are kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff()) }}

with snapshots as (
    select * from {{ ref('int_customer_order_snapshots') }}
    where cutoff_date in (select cutoff_date from ({{ cutoffs_to_build() }}))
),

scored as (
    select
        *,
        {% for score, column, direction in [
            ('r_score', 'recency_days', 'desc'),
            ('f_score', 'frequency', 'asc'),
            ('m_score', 'monetary_total', 'asc')
        ] -%}
        case when frequency > 0 then cast(
            1 + floor(5.0 * (
                rank() over (partition by cutoff_date, frequency > 0 order by {{ column }} {{ direction }}) - 1
            ) / count(*) over (partition by cutoff_date, frequency > 0))
        as integer) end as {{ score }}{{ "," if not loop.last }}
        {% endfor %}
    from snapshots
),

-- The first matching rule by priority (a subquery, not QUALIFY: Spark has none).
segmented as (
    select customer_id, cutoff_date, segment_name
    from (
        select
            scored.customer_id,
            scored.cutoff_date,
            rules.segment_name,
            row_number() over (
                partition by scored.customer_id, scored.cutoff_date order by rules.priority
            ) as rule_rank
        from scored
        join {{ ref('rfm_segment_rules') }} as rules
            on scored.r_score between rules.r_min and rules.r_max
            and scored.f_score between rules.f_min and rules.f_max
            and scored.m_score between rules.m_min and rules.m_max
    ) as matching
    where rule_rank = 1
)

select
    scored.*,
    cast(r_score as {{ type_text() }}) || f_score || m_score as rfm_cell,
    case
        when scored.frequency = 0 then 'No Purchase Yet'
        else segmented.segment_name
    end as rfm_segment
from scored
left join segmented using (customer_id, cutoff_date)
