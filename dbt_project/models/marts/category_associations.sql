-- Category association rules A -> B as of the run's as-of date (customer histories strictly
-- before it), with support, confidence and lift; rank_for_antecedent 1 is A's strongest rule.
select
    antecedent,
    consequent,
    cutoff_date as as_of_date,
    {{ star_except(ref('category_association_snapshots'), ['antecedent', 'consequent', 'cutoff_date', 'is_current', 'inputs_fingerprint']) }}
from {{ ref('category_association_snapshots') }}
where is_current
