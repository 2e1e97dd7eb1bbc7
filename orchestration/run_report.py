"""What `insights run` shows while it works: one line per step (name, tables and rows written,
checks, seconds), a live progress bar on a terminal, warnings and errors in full. Everything
else (dbt's model and test lines, Dagster's event log) goes to a log file."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BAR_WIDTH = 24
NAME_WIDTH = 36


class _PlainTextFile:
    """A text stream that writes to the log file without terminal colour codes."""

    def __init__(self, file: TextIO) -> None:
        self._file = file

    def write(self, text: str) -> int:
        self._file.write(ANSI_ESCAPE.sub("", text))
        return len(text)

    def flush(self) -> None:
        self._file.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


@contextmanager
def log_to_file(path: Path) -> Iterator[tuple[TextIO, TextIO]]:
    """Send everything written to sys.stdout/sys.stderr (Dagster's console log, dbt's output)
    to `path`; yields the terminal's (stdout, stderr) for what the user should see."""
    path.parent.mkdir(parents=True, exist_ok=True)
    terminal = (sys.stdout, sys.stderr)
    with path.open("a", encoding="utf-8") as file:
        plain = _PlainTextFile(file)
        sys.stdout = sys.stderr = plain  # type: ignore[assignment]
        try:
            yield terminal
        finally:
            sys.stdout, sys.stderr = terminal


@dataclass
class _Step:
    started: float
    tables: int = 0  # materialisations with a row count
    other_assets: int = 0  # models, files: no row count
    rows: int = 0
    checks: int = 0
    checks_failed: int = 0


@dataclass
class StepProgress:
    """Turns the run's Dagster events into the lines a user reads.

    `handle` takes a DagsterEvent (from an instance event listener during the run, or from a
    finished run's `all_events`); user log messages at WARNING or above go through `warn`."""

    total_steps: int | None
    out: TextIO
    err: TextIO
    live: bool = False
    done: int = 0
    lines: list[str] = field(default_factory=list)
    _steps: dict[str, _Step] = field(default_factory=dict)
    _current: str | None = None
    _started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _ticker: threading.Thread | None = None

    def start(self) -> None:
        if self.live:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self._clear_bar()

    def handle_entry(self, entry: Any) -> None:
        """An EventLogEntry from `instance.add_event_listener`."""
        event = entry.dagster_event
        if event is not None:
            self.handle(event)
        elif entry.level >= 30 and entry.user_message:  # logging.WARNING
            self.warn(entry.step_key, entry.user_message)

    def handle(self, event: Any) -> None:
        kind = event.event_type_value
        key = event.step_key
        if kind == "STEP_START":
            self._steps[key] = _Step(started=time.monotonic())
            self._current = key
        elif kind == "ASSET_MATERIALIZATION":
            step = self._steps.setdefault(key, _Step(started=time.monotonic()))
            metadata = event.event_specific_data.materialization.metadata
            row_count = metadata.get("dagster/row_count")
            if row_count is None:
                step.other_assets += 1
            else:
                step.tables += 1
                step.rows += int(row_count.value)
        elif kind == "ASSET_CHECK_EVALUATION":
            step = self._steps.setdefault(key, _Step(started=time.monotonic()))
            evaluation = event.event_specific_data
            step.checks += 1
            if not evaluation.passed:
                step.checks_failed += 1
                severity = getattr(evaluation.severity, "value", evaluation.severity)
                detail = f": {evaluation.description}" if evaluation.description else ""
                self.warn(
                    key,
                    f"check {evaluation.asset_key.to_user_string()}/{evaluation.check_name} "
                    f"failed ({severity}){detail}",
                )
        elif kind == "STEP_SUCCESS":
            seconds = event.event_specific_data.duration_ms / 1000
            self._finish(key, "ok", seconds)
        elif kind == "STEP_FAILURE":
            self._finish(key, "FAILED", None)
            data = event.step_failure_data
            user = data.user_failure_data if data is not None else None
            message = user.description if user and user.description else None
            if message is None and data is not None and data.error is not None:
                message = data.error.message.strip()
            self.warn(key, f"error: {message or 'failed'}", stream=self.err)
        elif kind == "STEP_UP_FOR_RETRY":
            self.warn(key, "failed, retrying")
        elif kind == "STEP_SKIPPED":
            self._finish(key, "skipped", None)

    def warn(self, step_key: str | None, message: str, stream: TextIO | None = None) -> None:
        where = f"{display_name(step_key)}: " if step_key else ""
        self._print(f"  ! {where}{message}", stream or self.err)

    def _finish(self, key: str, status: str, seconds: float | None) -> None:
        step = self._steps.pop(key, None) or _Step(started=time.monotonic())
        if seconds is None:
            seconds = time.monotonic() - step.started
        self.done += 1
        self._current = None
        self._print(step_line(display_name(key), status, step, seconds), self.out)

    def _print(self, line: str, stream: TextIO) -> None:
        with self._lock:
            self._clear_bar()
            stream.write(line + "\n")
            stream.flush()
            self.lines.append(line)
            self._draw_bar()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                self._draw_bar()

    def _draw_bar(self) -> None:
        if not self.live or self._stop.is_set():
            return
        elapsed = time.monotonic() - self._started
        total = self.total_steps or 0
        filled = int(BAR_WIDTH * self.done / total) if total else 0
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        count = f"{self.done}/{total}" if total else str(self.done)
        current = display_name(self._current) if self._current else ""
        self.out.write(f"\r\x1b[K  [{bar}] {count} steps {_clock(elapsed)}  {current}"[:120])
        self.out.flush()

    def _clear_bar(self) -> None:
        if self.live:
            self.out.write("\r\x1b[K")
            self.out.flush()


def display_name(step_key: str | None) -> str:
    """The asset key of a single-asset step (`ml__churn_scores` -> `ml/churn_scores`)."""
    return (step_key or "run").replace("__", "/")


def step_line(name: str, status: str, step: _Step, seconds: float) -> str:
    mark = {"ok": "ok", "FAILED": "!!", "skipped": "--"}.get(status, "  ")
    parts = []
    if step.tables:
        parts.append(f"{step.tables:>3} table{'s' if step.tables != 1 else ' '}")
        parts.append(f"{step.rows:>10,} rows")
    elif step.other_assets:
        parts.append(f"{step.other_assets:>3} asset{'s' if step.other_assets != 1 else ' '}")
        parts.append(" " * 15)
    if step.checks:
        failed = f", {step.checks_failed} failed" if step.checks_failed else ""
        parts.append(f"{step.checks:>3} checks{failed}")
    detail = "  ".join(parts) if status == "ok" else status
    return f"  {mark} {name:<{NAME_WIDTH}} {detail:<44} {seconds:>6.1f}s".rstrip()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
