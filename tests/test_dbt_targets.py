"""The dbt project is not tied to DuckDB at the Jinja level: it parses for a second adapter
(Postgres, whose adapter installs here without a server; parsing opens no connection)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_warehouse import warehouse_path
from tests.support.dbt_cli import run_dbt

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


def _parse(target: Path, logs: Path, run_values: dict[str, str]) -> subprocess.CompletedProcess:
    """`dbt parse` with the run-specific values passed the way the Dagster step passes them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_DBT_")}
    env.update({f"INSIGHTS_DBT_{k.upper()}": v for k, v in run_values.items()})
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "parse",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(logs),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_a_new_as_of_date_keeps_dbt_partial_parsing(tmp_path: Path) -> None:
    """Run values (as-of date, run date, horizon) reach dbt as env vars, not --vars, so the next
    run re-parses only the files that read them instead of the whole project. Neither does
    another warehouse file: the profile names only its catalog (orchestration/dbt_warehouse.py
    attaches the file), and dbt re-parses everything when the profile changes."""
    target, logs = tmp_path / "target", tmp_path / "logs"
    first = _parse(
        target,
        logs,
        {
            "as_of": "2025-06-30",
            "run_date": "2025-07-01",
            "churn_horizon_days": "90",
            "warehouse_path": str(tmp_path / "first" / "warehouse.duckdb"),
        },
    )
    assert first.returncode == 0, first.stdout + first.stderr
    full = json.loads((target / "perf_info.json").read_text())
    second = _parse(
        target,
        logs,
        {
            "as_of": "2025-07-31",
            "run_date": "2025-08-01",
            "churn_horizon_days": "60",
            "warehouse_path": str(tmp_path / "second" / "warehouse.duckdb"),
        },
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Unable to do partial parsing" not in second.stdout
    partial = json.loads((target / "perf_info.json").read_text())
    assert partial["is_partial_parse_enabled"] is True
    # Only the files that read a changed value are parsed again.
    assert 0 < partial["parsed_path_count"] < full["parsed_path_count"] / 4


def test_dbt_writes_the_warehouse_file_under_its_own_catalog_name(tmp_path: Path) -> None:
    """A hand-run `dbt seed --vars warehouse_path` writes that file (the plugin attaches it),
    the catalog named as DuckDB names the file (here an SQL keyword), and leaves no write-ahead
    log behind."""
    warehouse = tmp_path / "full.v2.duckdb"
    seeded = run_dbt("seed", "quarantine_reasons", {"warehouse_path": str(warehouse)}, tmp_path)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert {node["database"] for node in manifest["nodes"].values()} == {"full"}
    assert not list(tmp_path.glob("*.wal"))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (catalog,) = con.execute("select current_database()").fetchone()
        (reasons,) = con.execute(
            'select count(*) from "full".reference.quarantine_reasons'
        ).fetchone()
    finally:
        con.close()
    assert catalog == "full"
    assert reasons > 0


@pytest.mark.parametrize(
    ("configured", "environ", "expected"),
    [
        ("/w/vars.duckdb", {"INSIGHTS_DBT_WAREHOUSE_PATH": "/w/dagster.duckdb"}, "/w/vars.duckdb"),
        (
            "",
            {"INSIGHTS_DBT_WAREHOUSE_PATH": "/w/dagster.duckdb", "INSIGHTS_WAREHOUSE_PATH": "/u"},
            "/w/dagster.duckdb",
        ),
        (
            None,
            {"INSIGHTS_DBT_WAREHOUSE_PATH": "", "INSIGHTS_WAREHOUSE_PATH": "/u/w.duckdb"},
            "/u/w.duckdb",
        ),
        ("", {}, "../data/warehouse.duckdb"),
    ],
)
def test_the_warehouse_path_dbt_attaches(configured, environ, expected) -> None:
    """--vars warehouse_path, else the path Dagster passes, else the user's, else the default."""
    assert warehouse_path(configured, environ) == expected
