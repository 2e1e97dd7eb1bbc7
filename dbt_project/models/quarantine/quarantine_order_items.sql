{{ quarantine_rows('order_items') }}
