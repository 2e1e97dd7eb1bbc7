"""Charts for the Dagster UI (PNG in markdown) and interactive HTML reports (Plotly)."""
