"""One refresh at a time per warehouse, whoever starts it (CLI, UI, schedule, sensor).

The lock is an exclusive `flock` on `<warehouse>.lock`, held by the process that executes the
run for the whole run. The file records the owner (pid, host, run id, start time) so a second
run fails fast with "a refresh is running (run ..., since ...)" instead of interleaving its
writes with the first (DuckDB would only serialise single statements, and the two runs would
publish each other's tables). The kernel drops an flock when its process dies, even by
SIGKILL, so the lock of a dead process is taken over by the next run with no manual clean-up;
the file is never deleted (deleting a lock file others may have open breaks the exclusion).

Within one process the lock is re-entrant for the same run id only: `insights run` takes it
before the run starts (for a clean message) and the run's warehouse resource takes it again.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class RefreshRunningError(RuntimeError):
    """Another refresh holds the warehouse lock; the message names its run and start time."""


@dataclass
class _Held:
    fd: int
    run_id: str
    depth: int


_held: dict[str, _Held] = {}
_registry = threading.Lock()


def lock_path(warehouse_path: Path | str) -> Path:
    warehouse = Path(warehouse_path)
    return warehouse.with_name(warehouse.name + ".lock")


def read_owner(path: Path) -> dict[str, object]:
    try:
        text = Path(path).read_text().strip()
        return json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}


def describe_owner(owner: dict[str, object]) -> str:
    if not owner:
        return "a refresh is running (its owner has not written the lock file yet)"
    return (
        f"a refresh is running (run {owner.get('run_id')}, since {owner.get('started_at')} UTC, "
        f"pid {owner.get('pid')} on {owner.get('host')})"
    )


def _pid_alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)  # type: ignore[arg-type]
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def acquire(warehouse_path: Path | str, run_id: str) -> str | None:
    """Take the lock for `run_id` or raise RefreshRunningError. Returns a note when the lock of
    a process that died was taken over, else None."""
    path = lock_path(warehouse_path)
    key = str(path.resolve())
    with _registry:
        held = _held.get(key)
        if held is not None:
            if held.run_id != run_id:
                raise RefreshRunningError(
                    f"{describe_owner(read_owner(path))}; this run ({run_id}) did not start"
                )
            held.depth += 1
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise RefreshRunningError(
                f"{describe_owner(read_owner(path))}; this run ({run_id}) did not start. "
                f"Wait for it to finish (lock file {path})"
            ) from None
        previous = read_owner(path)
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_id": run_id,
            "started_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)
        os.fsync(fd)
        _held[key] = _Held(fd, run_id, 1)
    if previous and previous.get("pid") != os.getpid():
        alive = previous.get("host") == socket.gethostname() and _pid_alive(previous.get("pid"))
        if not alive:
            return (
                f"took over the warehouse lock left by run {previous.get('run_id')} "
                f"(pid {previous.get('pid')} on {previous.get('host')}, no longer running)"
            )
    return None


def release(warehouse_path: Path | str, run_id: str) -> None:
    key = str(lock_path(warehouse_path).resolve())
    with _registry:
        held = _held.get(key)
        if held is None or held.run_id != run_id:
            return
        held.depth -= 1
        if held.depth > 0:
            return
        del _held[key]
        try:
            os.ftruncate(held.fd, 0)  # no owner: the next run finds an empty, unlocked file
            fcntl.flock(held.fd, fcntl.LOCK_UN)
        finally:
            os.close(held.fd)


@contextmanager
def refresh_lock(warehouse_path: Path | str, run_id: str) -> Iterator[str | None]:
    """Hold the warehouse lock for `run_id` for the block; yields the take-over note."""
    note = acquire(warehouse_path, run_id)
    try:
        yield note
    finally:
        release(warehouse_path, run_id)
