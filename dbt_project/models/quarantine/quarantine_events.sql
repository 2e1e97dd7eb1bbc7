{{ quarantine_rows('events') }}
