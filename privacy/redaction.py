"""Keep customer values out of error messages, logs and run metadata.

Database and dbt errors quote the value that failed ("Could not convert string 'jane@x.com'",
"Duplicate key \"customer_id: C000035\""). Those messages end up in the Dagster run history and
in alerts, which erasure does not reach, so quoted literals are replaced by '…' before a
message leaves the pipeline. Names worth keeping (a file path) can be exempted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
REDACTED = "'…'"


def redact_quoted(text: str, keep: Iterable[str] = ()) -> str:
    """`text` with every quoted literal replaced by '…', except those whose content is in
    `keep`."""
    kept = set(keep)
    return _QUOTED.sub(lambda m: m.group(0) if m.group(0)[1:-1] in kept else REDACTED, text)
