"""`make ui`'s wrapper around `dg dev` (orchestration/ui_server.py) with stand-in processes: a
stop signal reaches the whole process group, and what ignores it is killed after the grace
period, named, with nothing left running. tests/test_ui_browser.py stops the real `dg dev`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestration.ui_server import group_members

REPO_ROOT = Path(__file__).resolve().parents[1]
# A parent that stops on SIGINT and a child that ignores it (as a process stuck in teardown).
STUBBORN = """
import pathlib, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"])
pathlib.Path(sys.argv[1]).write_text(str(child.pid))
try:
    time.sleep(600)
except KeyboardInterrupt:
    sys.exit(0)
"""


def _wrapper(tmp_path: Path, script: str, grace_s: float) -> tuple[subprocess.Popen, int]:
    ready = tmp_path / "child.pid"
    code = (
        "import sys; from orchestration.ui_server import run; "
        f"sys.exit(run([sys.executable, '-c', {script!r}, {str(ready)!r}], {grace_s}))"
    )
    wrapper = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists() or not ready.read_text():
        assert time.monotonic() < deadline and wrapper.poll() is None, "the stand-in never started"
        time.sleep(0.1)
    return wrapper, int(ready.read_text())


def test_a_stop_signal_stops_the_group_and_kills_what_ignores_it(tmp_path: Path) -> None:
    wrapper, grandchild = _wrapper(tmp_path, STUBBORN, grace_s=1.0)
    group = os.getpgid(grandchild)
    assert group != os.getpgid(wrapper.pid)  # dg dev's group is its own, not the terminal's
    started = time.monotonic()
    wrapper.send_signal(signal.SIGTERM)
    _, stderr = wrapper.communicate(timeout=30)
    assert wrapper.returncode == 128 + signal.SIGTERM
    assert 1.0 <= time.monotonic() - started < 10  # the grace, then the kill
    assert "Killed 1 Dagster process(es) still running" in stderr
    assert group_members(group) == {}


def test_a_group_that_stops_in_time_is_not_killed(tmp_path: Path) -> None:
    polite = STUBBORN.replace("signal.signal(signal.SIGINT, signal.SIG_IGN); ", "")
    wrapper, grandchild = _wrapper(tmp_path, polite, grace_s=20.0)
    group = os.getpgid(grandchild)
    wrapper.send_signal(signal.SIGINT)
    _, stderr = wrapper.communicate(timeout=30)
    assert wrapper.returncode == 128 + signal.SIGINT
    assert "Killed" not in stderr and "Dagster UI stopped in" in stderr
    assert group_members(group) == {}
