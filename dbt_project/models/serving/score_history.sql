-- Score history for the most recent as-of dates (var serving_history_as_of_dates); the warehouse
-- keeps all of it in ml.score_history.
with recent as (
    select distinct as_of_date from {{ source('ml', 'score_history') }}
    order by as_of_date desc
    limit {{ var('serving_history_as_of_dates') }}
)

select history.*
from {{ source('ml', 'score_history') }} as history
join recent using (as_of_date)
