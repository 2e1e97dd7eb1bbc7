-- Per customer and channel as of the run's as-of date: responses, chances and the response
-- rate (see int_customer_channel_responses), and whether the customer may be contacted there.
select
    responses.customer_id,
    context.as_of_date,
    responses.channel,
    responses.source,
    responses.opportunities,
    responses.responses,
    responses.response_rate,
    {{ channel_contactable('responses.channel', 'customers.marketing_opt_in') }} as contactable
from {{ ref('int_customer_channel_responses') }} as responses
cross join {{ ref('int_run_context') }} as context
join {{ ref('int_customers') }} as customers using (customer_id)
