"""Named crash points for fault-injection tests.

Setting INSIGHTS_FAILPOINT=<name> makes the process kill itself (SIGKILL, no clean-up) when it
reaches that point, which is how tests prove a refresh killed mid-publish leaves the published
files untouched. Unset (always, in production) it does nothing.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "INSIGHTS_FAILPOINT"


def failpoint(name: str) -> None:
    if os.environ.get(ENV_VAR) == name:
        os.kill(os.getpid(), signal.SIGKILL)
