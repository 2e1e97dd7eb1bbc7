-- Category association rules A -> B per cutoff (the as-of date and the evaluation cutoff) over
-- customer histories before the cutoff: of the customers who bought A, how many also bought B
-- (confidence), against how common B is (lift). Basket columns count the same within single
-- orders. Pairs bought together by fewer than association_min_customers customers, or by a
-- smaller share than association_min_support, are dropped so rare pairs cannot dominate.
-- Incremental by cutoff: an unchanged evaluation cutoff is kept (macros/snapshots.sql).
{{ config(**snapshot_by_cutoff('int_category_cutoffs')) }}

with cutoffs as (
    select * from ({{ cutoffs_to_build('int_category_cutoffs') }})
),

histories as (
    select distinct cutoff_date, is_current, customer_id, category
    from {{ ref('customer_category_snapshots') }}
    where cutoff_date in (select cutoff_date from cutoffs)
),

buyers as (
    select cutoff_date, count(distinct customer_id) as buying_customers
    from histories
    group by cutoff_date
),

category_buyers as (
    select cutoff_date, category, count(*) as customers
    from histories
    group by cutoff_date, category
),

customer_pairs as (
    select
        antecedent.cutoff_date,
        antecedent.is_current,
        antecedent.category as antecedent,
        consequent.category as consequent,
        count(*) as customers_with_both
    from histories as antecedent
    join histories as consequent
        on consequent.cutoff_date = antecedent.cutoff_date
        and consequent.customer_id = antecedent.customer_id
        and consequent.category <> antecedent.category
    group by all
),

baskets as (
    select distinct cutoffs.cutoff_date, lines.order_id, lines.category
    from {{ ref('int_order_categories') }} as lines
    join cutoffs on lines.ordered_at < cutoffs.cutoff_date
),

basket_totals as (
    select cutoff_date, count(distinct order_id) as orders
    from baskets
    group by cutoff_date
),

category_baskets as (
    select cutoff_date, category, count(*) as orders
    from baskets
    group by cutoff_date, category
),

basket_pairs as (
    select
        antecedent.cutoff_date,
        antecedent.category as antecedent,
        consequent.category as consequent,
        count(*) as orders_with_both
    from baskets as antecedent
    join baskets as consequent
        on consequent.cutoff_date = antecedent.cutoff_date
        and consequent.order_id = antecedent.order_id
        and consequent.category <> antecedent.category
    group by all
),

rules as (
    select
        pairs.cutoff_date,
        pairs.is_current,
        pairs.antecedent,
        pairs.consequent,
        buyers.buying_customers,
        antecedent_buyers.customers as customers_with_antecedent,
        consequent_buyers.customers as customers_with_consequent,
        pairs.customers_with_both,
        pairs.customers_with_both / buyers.buying_customers as support,
        pairs.customers_with_both / antecedent_buyers.customers as confidence,
        (pairs.customers_with_both / antecedent_buyers.customers)
            / (consequent_buyers.customers / buyers.buying_customers) as lift,
        antecedent_baskets.orders as orders_with_antecedent,
        coalesce(basket_pairs.orders_with_both, 0) as orders_with_both,
        coalesce(basket_pairs.orders_with_both, 0) / antecedent_baskets.orders
            as basket_confidence,
        (coalesce(basket_pairs.orders_with_both, 0) / antecedent_baskets.orders)
            / (consequent_baskets.orders / basket_totals.orders) as basket_lift
    from customer_pairs as pairs
    join buyers using (cutoff_date)
    join category_buyers as antecedent_buyers
        on antecedent_buyers.cutoff_date = pairs.cutoff_date
        and antecedent_buyers.category = pairs.antecedent
    join category_buyers as consequent_buyers
        on consequent_buyers.cutoff_date = pairs.cutoff_date
        and consequent_buyers.category = pairs.consequent
    join basket_totals using (cutoff_date)
    join category_baskets as antecedent_baskets
        on antecedent_baskets.cutoff_date = pairs.cutoff_date
        and antecedent_baskets.category = pairs.antecedent
    join category_baskets as consequent_baskets
        on consequent_baskets.cutoff_date = pairs.cutoff_date
        and consequent_baskets.category = pairs.consequent
    left join basket_pairs
        on basket_pairs.cutoff_date = pairs.cutoff_date
        and basket_pairs.antecedent = pairs.antecedent
        and basket_pairs.consequent = pairs.consequent
    where pairs.customers_with_both >= {{ var('association_min_customers') }}
        and pairs.customers_with_both / buyers.buying_customers
            >= {{ var('association_min_support') }}
)

select
    cutoff_date,
    is_current,
    antecedent,
    consequent,
    buying_customers,
    customers_with_antecedent,
    customers_with_consequent,
    customers_with_both,
    {% call round_half_away(6) %}support{% endcall %} as support,
    {% call round_half_away(6) %}confidence{% endcall %} as confidence,
    {% call round_half_away(6) %}lift{% endcall %} as lift,
    orders_with_antecedent,
    orders_with_both,
    {% call round_half_away(6) %}basket_confidence{% endcall %} as basket_confidence,
    {% call round_half_away(6) %}basket_lift{% endcall %} as basket_lift,
    row_number() over (
        partition by cutoff_date, antecedent order by lift desc, confidence desc, consequent
    ) as rank_for_antecedent,
    fingerprints.inputs_fingerprint
from rules
join (select cutoff_date, inputs_fingerprint from cutoffs) as fingerprints using (cutoff_date)
