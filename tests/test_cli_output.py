"""What `insights run`, `insights summary` and `insights sql` print, on the demo refresh of the
session fixture (no second pipeline run): one line per step, a short summary that fits a
screen and points BI at the serving database, read-only SQL on that database."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.cli import main
from orchestration.run_report import StepProgress, log_to_file
from orchestration.settings import from_env
from orchestration.summary import location_lines, result_lines
from tests.refresh import RefreshedWarehouse

# `make run` prints the demo-data lines (8), the run header and the success line around these.
MAX_RUN_LINES = 60 - 10
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_env(demo_warehouse: RefreshedWarehouse, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of a user whose warehouse is the fixture's (serving etc. beside it)."""
    for name in ("INSIGHTS_SERVING_PATH", "INSIGHTS_EXPORT_DIR", "INSIGHTS_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("INSIGHTS_WAREHOUSE_PATH", str(demo_warehouse.warehouse_path))
    monkeypatch.setenv("INSIGHTS_LANDING_DIR", str(demo_warehouse.landing_dir))
    return demo_warehouse.warehouse_path


def test_run_output_is_one_line_per_step_and_a_short_summary(
    demo_warehouse: RefreshedWarehouse, demo_env: Path
) -> None:
    out, err = io.StringIO(), io.StringIO()
    progress = StepProgress(total_steps=None, out=out, err=err)
    for event in demo_warehouse.result.all_events:
        progress.handle(event)
    step_lines = out.getvalue().splitlines()
    steps = {e.step_key for e in demo_warehouse.result.all_events if e.is_step_success}
    assert len(step_lines) == len(steps) == progress.done
    assert err.getvalue() == ""  # no warning on the demo data
    dbt_line = next(line for line in step_lines if " dbt_models " in line)
    # tables written, their rows, the dbt tests as checks, seconds
    assert " tables " in dbt_line and " rows " in dbt_line and " checks " in dbt_line
    assert dbt_line.endswith("s")
    scores = next(line for line in step_lines if " ml/churn_scores " in line)
    assert "2,000 rows" in scores

    settings = from_env()
    log = settings.warehouse_path.parent / "logs" / "run.log"
    summary = [*result_lines(settings), "", *location_lines(settings, log)]
    assert len(step_lines) + len(summary) <= MAX_RUN_LINES
    text = "\n".join(summary)
    serving = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        as_of = serving.execute("select max(as_of_date) from analytics.customer_360").fetchone()
        segments = serving.execute("select segment_name from analytics.segment_summary").fetchall()
        high = serving.execute(
            "select count(*) from analytics.customer_360 where risk_tier = 'high'"
        ).fetchone()
    finally:
        serving.close()
    assert f"As of {as_of[0]:%Y-%m-%d}: 2,000 customers" in text
    assert all(name in text for (name,) in segments)
    assert f"High churn risk: {high[0]:,} customers" in text
    assert "Top cross-sell: " in text
    assert "Quarantined: nothing" in text
    # BI is pointed at the serving database, read-only; the warehouse only as pipeline storage.
    query_lines = [line for line in summary if "read_only=True" in line]
    assert query_lines and all(str(settings.serving_path) in line for line in query_lines)
    assert "warehouse.duckdb')" not in text
    for label in ("serving (BI): ", "exports: ", "reports: ", "models: ", "run log: "):
        assert label in text


def test_the_progress_bar_is_drawn_on_a_terminal_only(demo_warehouse: RefreshedWarehouse) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    events = demo_warehouse.result.all_events
    total = len({e.step_key for e in events if e.is_step_success})
    terminal, plain = Terminal(), io.StringIO()
    for stream, live in ((terminal, True), (plain, False)):
        progress = StepProgress(total_steps=total, out=stream, err=stream, live=live)
        for event in events:
            progress.handle(event)
        progress.close()
    assert f"] {total}/{total} steps" in terminal.getvalue()
    assert "\r" not in plain.getvalue() and "\x1b" not in plain.getvalue()


def test_the_run_log_gets_everything_written_to_stdout_and_stderr(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "run.log"
    real_out = sys.stdout
    with log_to_file(log) as (out, _err):
        print("\x1b[32mOK\x1b[0m created sql table model marts.customer_rfm")
        print("dagster - DEBUG - STEP_START", file=sys.stderr)
        assert out is real_out
    assert sys.stdout is real_out
    assert log.read_text().splitlines() == [
        "OK created sql table model marts.customer_rfm",
        "dagster - DEBUG - STEP_START",
    ]


def test_summary_shows_as_of_publish_quarantine_and_where_things_are(
    demo_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "Last refresh: warehouse last written" in out  # no DAGSTER_HOME: no run history
    assert "Last publish: " in out and "analytics.publish_log" in out
    assert "As of " in out and "Quarantined: nothing" in out
    assert "marts.customer_features" not in out
    assert main(["summary", "--tables"]) == 0
    assert "marts.customer_features" in capsys.readouterr().out


def test_sql_prints_a_table_from_the_serving_database_read_only(
    demo_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "select segment_name, customers from analytics.segment_summary order by segment_id"
    assert main(["sql", query]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["segment_name", "customers"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[-1].endswith("rows)")
    assert sum(int(line.split()[-1].replace(",", "")) for line in lines[2:-1]) == 2000

    assert main(["sql", "delete from analytics.customer_360"]) == 1
    assert "read-only" in capsys.readouterr().err
    with duckdb.connect(str(from_env().serving_path), read_only=True) as con:
        assert con.execute("select count(*) from analytics.customer_360").fetchone()[0] == 2000


def test_run_select_rejects_a_selection_that_matches_nothing(
    demo_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--select", 'key:"no_such/asset"']) == 2
    assert "matches no asset" in capsys.readouterr().err


def test_cli_runs_are_recorded_under_the_code_location_the_ui_serves() -> None:
    """The UI's Overview timeline lists only runs with a code location origin; `insights run`
    executes in its own process but records its run under the workspace's location, as a run
    launched in the UI (tests/test_ui_browser.py checks the timeline itself)."""
    import dagster as dg

    from orchestration.cli import record_under_location

    @dg.op
    def step() -> None:
        pass

    @dg.job(name="daily_refresh")
    def job() -> None:
        step()

    with dg.DagsterInstance.ephemeral() as instance:
        plain = job.execute_in_process(instance=instance).run_id
        record_under_location(instance, "daily_refresh")
        recorded = job.execute_in_process(instance=instance).run_id
        assert instance.get_run_by_id(plain).remote_job_origin is None
        origin = instance.get_run_by_id(recorded).remote_job_origin
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    assert origin is not None and origin.job_name == "daily_refresh"
    assert origin.repository_origin.repository_name == "__repository__"
    assert origin.location_name == workspace["load_from"][0]["python_module"]["location_name"]
