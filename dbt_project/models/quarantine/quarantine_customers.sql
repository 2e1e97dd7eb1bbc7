{{ quarantine_rows('customers') }}
