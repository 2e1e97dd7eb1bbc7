"""Run dbt itself (the one installed beside this interpreter) on the project, with the target
and log folders in a test's own folder so parallel runs do not share artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestration.project import DBT_PROJECT_DIR


def run_dbt(
    command: str, select: str, variables: dict[str, Any], workdir: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    """`dbt <command> --select <select> --vars <variables> <options>`; the caller checks
    returncode."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            command,
            "--select",
            select,
            "--vars",
            json.dumps(variables),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
            *options,
        ],
        capture_output=True,
        text=True,
        cwd=DBT_PROJECT_DIR,
    )
