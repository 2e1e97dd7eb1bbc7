"""`make ui`: `dg dev` with a bounded Ctrl-C.

`dg dev` starts a webserver, a daemon and a code server (a proxy plus its gRPC worker), and each
run launched from the UI adds a run worker. On Ctrl-C every one of these Python processes tears
down its interpreter at the same time: their shutdown is done within about a second, but on a
busy 2-CPU machine the teardown took 6-14 s more (the last process was gone after 14-21 s).
This wrapper runs `dg dev` in its own process group, forwards Ctrl-C (SIGINT) or SIGTERM to that
group, waits at most a grace period for it to stop by itself and then kills what is left,
saying which processes it killed. A second Ctrl-C kills at once.

Standard library only: it must start and stop quickly and never import Dagster itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

# Ctrl-C must leave nothing running within 10 s; what has not stopped after this is killed.
DEFAULT_STOP_GRACE_S = 7.0
GRACE_ENV = "INSIGHTS_UI_STOP_GRACE_S"
POLL_S = 0.1


def group_members(group: int) -> dict[int, str]:
    """Live (non-zombie) processes of a process group, with their command lines."""
    members = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # exited meanwhile
            continue
        state, _parent, process_group = stat.rsplit(")", 1)[1].split()[:3]
        if state not in "ZX" and int(process_group) == group:
            members[int(proc.name)] = cmdline.strip()
    return members


def describe(cmdline: str) -> str:
    """A short name for a Dagster process (its command lines carry a long instance JSON)."""
    words = cmdline.split()
    if "-m" in words:  # python -m <module> <subcommand>...: up to the first option
        name = []
        for word in words[words.index("-m") + 1 :]:
            if word.startswith("-") or len(name) == 3:
                break
            name.append(word)
        return " ".join(name)
    return " ".join([Path(words[0]).name, *words[1:3]]) if words else "?"


class Stop:
    """Signal handlers: the first SIGINT/SIGTERM asks for a graceful stop, a second one for
    an immediate kill."""

    def __init__(self) -> None:
        self.requested_at: float | None = None
        self.signal_number = 0
        self.kill_now = False

    def __call__(self, signal_number: int, _frame: object) -> None:
        if self.requested_at is None:
            self.requested_at = time.monotonic()
            self.signal_number = signal_number
        else:
            self.kill_now = True


def stop_group(child: subprocess.Popen, stop: Stop, grace_s: float) -> None:
    """SIGINT the group, wait up to `grace_s` (from the first signal) and kill what is left."""
    group = child.pid
    started = stop.requested_at or time.monotonic()
    with suppress(ProcessLookupError):  # the group may be gone already
        os.killpg(group, signal.SIGINT)
    print(
        f"Stopping the Dagster UI (at most {grace_s:.0f} s; Ctrl-C again kills it now)...",
        file=sys.stderr,
        flush=True,
    )
    while time.monotonic() - started < grace_s and not stop.kill_now:
        child.poll()  # reaps dg dev itself
        if not group_members(group):
            break
        time.sleep(POLL_S)
    leftover = group_members(group)
    if leftover:
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        names = ", ".join(sorted({describe(cmdline) for cmdline in leftover.values()}))
        print(
            f"Killed {len(leftover)} Dagster process(es) still running "
            f"{time.monotonic() - started:.1f} s after the stop signal: {names}",
            file=sys.stderr,
            flush=True,
        )
    child.wait()
    print(f"Dagster UI stopped in {time.monotonic() - started:.1f} s.", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """`dg dev <argv>` (e.g. -w workspace.yaml -h 127.0.0.1 -p 3000) with a bounded stop."""
    dg = str(Path(sys.executable).with_name("dg"))
    try:
        grace_s = float(os.environ.get(GRACE_ENV, DEFAULT_STOP_GRACE_S))
    except ValueError:
        print(f"{GRACE_ENV} must be a number of seconds", file=sys.stderr)
        return 2
    return run([dg, "dev", *(sys.argv[1:] if argv is None else argv)], grace_s)


def run(command: list[str], grace_s: float) -> int:
    """Run `command` in a process group of its own until it ends or a stop signal arrives;
    return its exit code, or 128 + the signal that stopped it."""
    stop = Stop()
    # Installed before the child starts: it then begins with default dispositions (a handler
    # is reset on exec, while an inherited "ignore" would stay), so Dagster sees Ctrl-C.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)  # the terminal was closed
    # Its own process group: Ctrl-C in the terminal reaches only this wrapper, which then
    # stops the whole group under a deadline.
    child = subprocess.Popen(command, process_group=0)
    while child.poll() is None and stop.requested_at is None:
        time.sleep(POLL_S)
    if stop.requested_at is None:  # the command ended by itself (e.g. a startup error)
        if group_members(child.pid):  # ... and left processes behind
            stop.requested_at = time.monotonic()
            stop_group(child, stop, grace_s)
        return child.returncode
    stop_group(child, stop, grace_s)
    return 128 + stop.signal_number


if __name__ == "__main__":
    sys.exit(main())
