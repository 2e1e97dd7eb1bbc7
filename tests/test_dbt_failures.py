"""A failed dbt build says what failed in the step's own description (the CLI prints one line
per step; there is no 'above' to point at), with values from the data redacted."""

from __future__ import annotations

from orchestration.defs.dbt import DBT_ERRORS_HEADING, _build_failure_description

ERROR = f"""dbt build --vars {{}}

{DBT_ERRORS_HEADING}

  \x1b[31mCompilation Error in model customer_360 (models/serving/customer_360.sql)\x1b[0m
  This model has an enforced contract that failed.
  Runtime Error in model stg_landing__orders: Could not convert string 'jane@example.com'
"""


def test_the_description_names_the_failed_model_and_redacts_values() -> None:
    description = _build_failure_description(ERROR)
    assert "Compilation Error in model customer_360" in description
    assert "enforced contract" in description
    assert "\x1b" not in description  # dbt's terminal colours
    assert "jane@example.com" not in description


def test_without_parsed_errors_it_points_at_the_log() -> None:
    assert "in the log" in _build_failure_description("dbt build --vars {}")
