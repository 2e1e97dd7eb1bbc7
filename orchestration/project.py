"""The dbt project as Dagster sees it. Everything that needs the manifest imports it from here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

# dagster-dbt runs `dbt` from PATH. Put the dbt installed beside this interpreter first, so a
# virtualenv works without being activated (`.venv/bin/insights`, `.venv/bin/pytest`).
_interpreter_bin = str(Path(sys.executable).parent)
if (Path(_interpreter_bin) / "dbt").exists() and not os.environ.get("PATH", "").startswith(
    _interpreter_bin + os.pathsep
):
    os.environ["PATH"] = _interpreter_bin + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Under `dagster dev` / `dg dev` the manifest is rebuilt on load; elsewhere it is prepared once
# (`insights run`, the test session, or `dagster-dbt project prepare-and-package`).
dbt_project.prepare_if_dev()
