"""Publishing: the BI serving database and marketing audience exports (no Dagster import)."""
