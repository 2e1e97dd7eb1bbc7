"""A refresh killed at any point leaves the serving database and the exports as they were, and
the next run completes without manual clean-up; a load killed between writing its rows and
recording its file leaves no trace the next run would count twice."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_data import generate, write_dataset
from ingest.landing import load_entity
from ingest.mapping import load_mapping

ROOT = Path(__file__).parents[1]
# Mid-dbt (the dbt process keeps running, orphaned, holding the warehouse lock for a while),
# mid-publish before the serving file is swapped, mid-export before the folder is swapped.
KILL_POINTS = ("dbt:started", "publish:before_swap", "export:before_swap")


def _run(env: dict[str, str], failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {**env, "INSIGHTS_FAILPOINT": failpoint} if failpoint else env
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )


def _published(root: Path) -> dict[str, object]:
    link = root / "exports" / "2026-01-01"
    return {
        "serving": (root / "serving.duckdb").read_bytes(),
        "export_target": os.readlink(link),
        "export_files": {p.name: p.read_bytes() for p in sorted(link.iterdir())},
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("faults")
    write_dataset(generate(n_customers=400, seed=17), root / "landing", root / "truth")
    variables = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INSIGHTS_", "DAGSTER_HOME"))},
        "INSIGHTS_LANDING_DIR": str(root / "landing"),
        "INSIGHTS_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
    }
    first = _run(variables)
    assert first.returncode == 0, first.stderr[-3000:]
    return variables


def test_killed_refreshes_leave_published_files_untouched_and_the_next_run_succeeds(env) -> None:
    root = Path(env["INSIGHTS_WAREHOUSE_PATH"]).parent
    for point in KILL_POINTS:
        before = _published(root)
        killed = _run(env, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        after = _published(root)
        # Exports are published after the serving database, so a kill while exporting leaves
        # a complete new serving database (checked by the reader test) and the old exports.
        if point == "export:before_swap":
            after.pop("serving"), before.pop("serving")
        assert after == before, point
    recovered = _run(env)
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert "Refresh succeeded" in recovered.stdout
    # Nothing left over from the killed runs.
    assert not list(root.glob(".serving.duckdb.*"))
    versions = root / "exports" / ".versions"
    assert [p.name for p in versions.iterdir()] == [
        os.readlink(root / "exports" / "2026-01-01").split("/")[-1]
    ]
    assert not list((root / "exports").glob(".*.link"))


def test_a_load_killed_between_its_rows_and_its_file_record_is_clean_on_the_rerun(env) -> None:
    root = Path(env["INSIGHTS_WAREHOUSE_PATH"]).parent
    landing = root / "landing"
    (landing / "events").mkdir()
    day = pd.read_csv(landing / "events.csv", dtype=str).tail(100)
    day.to_csv(landing / "events" / "extra.csv", index=False)  # a new daily file: appended
    killed = _run(env, "load:before_record")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    rerun = _run(env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    con = duckdb.connect(env["INSIGHTS_WAREHOUSE_PATH"], read_only=True)
    try:
        loaded = con.execute("select * exclude (_batch) from raw.events order by all").fetchall()
        audit = con.execute("select entity, rows_unaccounted from quarantine.load_audit").fetchall()
    finally:
        con.close()
    clean = duckdb.connect()
    load_entity(clean, landing, load_mapping(landing), "events", incremental=False)
    assert (
        loaded == clean.execute("select * exclude (_batch) from raw.events order by all").fetchall()
    )
    assert all(unaccounted == 0 for _, unaccounted in audit), audit
