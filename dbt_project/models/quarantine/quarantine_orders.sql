{{ quarantine_rows('orders') }}
