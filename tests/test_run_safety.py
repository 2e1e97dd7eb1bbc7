"""Run safety: the publish gate against the last publish, one refresh at a time per warehouse,
and no customer data in the run history.

The gate tests start from a copy of the session's refreshed demo warehouse (its serving file,
exports and models), so they need no extra full refresh: the header-only run stops at the load,
the cut run at the gate after the dbt marts, and the accepted run publishes only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster._serdes import serialize_value

from ml.model_store import ModelStore
from orchestration import cli
from orchestration.refresh_lock import RefreshRunningError, acquire, lock_path, release
from tests.refresh import RefreshedWarehouse, query, refresh

DROP_GATE = dg.AssetKey(["publish", "drop_gate"])
SERVING = dg.AssetKey(["publish", "serving_database"])
EXPORTS = dg.AssetKey(["publish", "segment_exports"])
ACCEPT = {"resources": {"publish_gate": {"config": {"accept_drop": True}}}}


def _copy_of(demo: RefreshedWarehouse, root: Path) -> Path:
    shutil.copytree(demo.warehouse_path.parent, root, symlinks=True, dirs_exist_ok=True)
    return root


def _tree_hash(folder: Path) -> str:
    """Every file and link under `folder` (names, link targets, bytes)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _published_state(root: Path) -> dict[str, str]:
    store = ModelStore(root / "models")
    return {
        "serving": hashlib.sha256((root / "serving.duckdb").read_bytes()).hexdigest(),
        "exports": _tree_hash(root / "exports"),
        "segmentation": str(store.current_version("segmentation")),
        "churn": str(store.current_version("churn")),
    }


def _failures(run: RefreshedWarehouse) -> dict[str, str]:
    return dict(cli.failure_messages(run.result))


def _run(root: Path, **kwargs) -> RefreshedWarehouse:
    return refresh(root / "landing", root / "warehouse.duckdb", raise_on_error=False, **kwargs)


def test_publish_gate_blocks_empty_and_cut_orders_and_accepts_a_drop_on_request(
    demo_warehouse: RefreshedWarehouse, tmp_path: Path
) -> None:
    root = _copy_of(demo_warehouse, tmp_path / "copy")
    before = _published_state(root)
    log_before = query(root / "serving.duckdb", "select * from analytics.publish_log")
    orders_file = root / "landing" / "orders.csv"
    original = orders_file.read_text()
    header, *lines = original.splitlines(keepends=True)

    # 1. A header-only orders file fails the load: nothing downstream runs.
    orders_file.write_text(header)
    run = _run(root)
    assert not run.result.success
    failures = _failures(run)
    assert "raw__orders" in failures and "no data row" in failures["raw__orders"]
    assert _published_state(root) == before

    # 2. Orders cut to 30%: the gate stops the run before the models, naming the metric.
    kept = [line for i, line in enumerate(lines) if i % 10 < 3]
    orders_file.write_text(header + "".join(kept))
    # Their order lines go too (lines of missing orders would be quarantined and stop the run
    # at the quarantine share before the gate is reached).
    items_file = root / "landing" / "order_items.csv"
    items = pd.read_csv(items_file, dtype=str, keep_default_na=False)
    kept_ids = set(pd.read_csv(orders_file, dtype=str, usecols=["order_id"])["order_id"])
    items[items["order_id"].isin(kept_ids)].to_csv(items_file, index=False)
    run = _run(root)
    assert not run.result.success
    failures = _failures(run)
    message = failures.get("publish__drop_gate", "")
    assert re.search(r"orders fell from [\d,]+ to [\d,]+ \(-\d+%\)", message), failures
    assert "--accept-drop" in message and "accept_drop: true" in message
    materialised = {e.asset_key for e in run.result.get_asset_materialization_events()}
    assert not materialised & {
        dg.AssetKey(["ml", "segment_model"]),
        dg.AssetKey(["ml", "churn_model"]),
        SERVING,
        EXPORTS,
    }
    assert _published_state(root) == before  # serving file, exports and models untouched
    assert query(root / "serving.duckdb", "select * from analytics.publish_log").equals(log_before)

    # 3. accept_drop (`insights run --accept-drop`) lets the same drop through to the publish.
    run = _run(root, run_config=ACCEPT, asset_selection=[DROP_GATE, SERVING])
    assert run.result.success, _failures(run)
    log = query(
        root / "serving.duckdb",
        "select gate_metrics from analytics.publish_log order by published_at",
    )
    assert len(log) == len(log_before) + 1
    old, new = (json.loads(metrics) for metrics in log["gate_metrics"].tolist()[-2:])
    assert new["orders"] < 0.5 * old["orders"]


def test_output_drop_blocks_the_publish_and_puts_the_published_models_back(
    demo_warehouse: RefreshedWarehouse, tmp_path: Path
) -> None:
    root = _copy_of(demo_warehouse, tmp_path / "copy")
    before = _published_state(root)
    store = ModelStore(root / "models")
    # A churn model promoted during a run whose scores then went missing.
    version = before["churn"]
    store.save("churn", "churn-candidate", store.load("churn", version), {"trained_as_of": "x"})
    store.set_current("churn", "churn-candidate")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("update analytics.customer_360 set churn_probability = null")
    con.close()
    run = _run(root, asset_selection=[SERVING])
    assert not run.result.success
    message = _failures(run)["publish__serving_database"]
    assert "scored_share fell from" in message and "to 0 (-100%)" in message
    assert f"churn {version}" in message
    assert _published_state(root) == before  # file, exports and the published model in use


def _hold_lock_in_child(warehouse: Path) -> subprocess.Popen:
    code = (
        "import sys, time\n"
        "from orchestration.refresh_lock import acquire\n"
        "acquire(sys.argv[1], 'run-of-the-child')\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(warehouse)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_second_refresh_fails_fast_and_a_dead_holder_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "warehouse.duckdb"
    child = _hold_lock_in_child(warehouse)
    try:
        # A Dagster run (UI, schedule, sensor or in-process) fails at its start.
        started = time.perf_counter()
        run = refresh(landing, warehouse, raise_on_error=False)
        assert not run.result.success
        assert time.perf_counter() - started < 60
        message = dict(cli.failure_messages(run.result))["run"]
        assert "a refresh is running (run run-of-the-child, since " in message
        assert f"pid {child.pid}" in message
        assert not run.result.get_step_success_events()
        # `insights run` fails fast with exit code 3 and the same message.
        monkeypatch.setenv("INSIGHTS_LANDING_DIR", str(landing))
        monkeypatch.setenv("INSIGHTS_WAREHOUSE_PATH", str(warehouse))
        assert cli.main(["run"]) == 3
        assert "a refresh is running (run run-of-the-child" in capsys.readouterr().err
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # The holder died without releasing: its lock file still names it, but the lock is free.
    assert "run-of-the-child" in lock_path(warehouse).read_text()
    note = acquire(warehouse, "next-run")
    try:
        assert note and "run-of-the-child" in note and "no longer running" in note
        with pytest.raises(RefreshRunningError, match="run next-run"):
            acquire(warehouse, "another-run-in-this-process")
    finally:
        release(warehouse, "next-run")
    assert lock_path(warehouse).read_text() == ""


def test_insights_run_passes_accept_drop_to_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = {}

    def fake_refresh(settings, select=None, run_id=None, progress=None, accept_drop=False):
        seen.update(accept_drop=accept_drop, run_id=run_id)
        raise RuntimeError("stop here")

    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("INSIGHTS_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("INSIGHTS_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setattr(cli, "execute_refresh", fake_refresh)
    with pytest.raises(RuntimeError, match="stop here"):
        cli.main(["run", "--accept-drop"])
    assert seen["accept_drop"] is True and seen["run_id"]
    assert lock_path(tmp_path / "warehouse.duckdb").read_text() == ""  # released on error


TOKEN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\w+")


def test_the_run_history_holds_no_customer_id_or_email(demo_warehouse: RefreshedWarehouse) -> None:
    landing = demo_warehouse.landing_dir
    customers = pd.read_csv(landing / "customers.csv", dtype=str)
    orders = pd.read_csv(landing / "orders.csv", dtype=str, usecols=["customer_id"])
    ids = set(customers["customer_id"]) | set(orders["customer_id"])
    emails = {e.strip().lower() for e in customers["email"].dropna()}
    assert len(ids) >= 2000 and len(emails) > 1000
    instance = demo_warehouse.instance
    assert instance is not None
    records = instance.all_logs(demo_warehouse.result.run_id)
    assert len(records) > 100
    text = "\n".join(serialize_value(record) for record in records)
    tokens = TOKEN.findall(text)
    leaked_ids = sorted(ids & set(tokens))
    leaked_emails = sorted(emails & {t.lower() for t in tokens})
    assert leaked_ids == [] and leaked_emails == [], (leaked_ids[:5], leaked_emails[:5])
