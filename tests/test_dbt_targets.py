"""The dbt project is not tied to DuckDB at the Jinja level: it parses for a second adapter
(Postgres, whose adapter installs here without a server; parsing opens no connection)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

POSTGRES_PROFILE = """\
customer_insights:
  target: postgres
  outputs:
    postgres:
      type: postgres
      host: localhost
      port: 5432
      user: insights
      password: unused
      dbname: insights
      schema: public
      threads: 2
"""


def test_the_project_parses_for_a_postgres_target(tmp_path: Path) -> None:
    pytest.importorskip("dbt.adapters.postgres", reason="dbt-postgres is a dev dependency")
    (tmp_path / "profiles.yml").write_text(POSTGRES_PROFILE)
    target = tmp_path / "target"
    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run(
        [
            str(dbt),
            "parse",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(tmp_path),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
            "--no-partial-parse",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "postgres"
    models = {
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"
    }
    # Every layer made it through, including the incremental models and their hooks.
    assert {
        "base_landing__events_parsed",
        "int_customer_event_days",
        "customer_feature_snapshots",
        "customer_360",
    } <= models
