"""Named crash points for fault-injection tests.

Setting INSIGHTS_FAILPOINT=<name> makes the process kill itself (SIGKILL, no clean-up) when it
reaches that point, which is how tests prove a refresh killed mid-publish leaves the published
files untouched. INSIGHTS_FAILPOINT=<name>@enospc raises "No space left on device" there
instead (a full disk, without filling one). Unset (always, in production) it does nothing.
"""

from __future__ import annotations

import errno
import os
import signal

ENV_VAR = "INSIGHTS_FAILPOINT"


def failpoint(name: str) -> None:
    value = os.environ.get(ENV_VAR)
    if value == name:
        os.kill(os.getpid(), signal.SIGKILL)
    elif value == f"{name}@enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
