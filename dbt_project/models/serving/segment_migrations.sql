-- Customers moving between segments from one as-of date to the next.
select * from {{ source('ml', 'segment_migrations') }}
