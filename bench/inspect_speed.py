"""How long `insights inspect` takes on foreign exports of a given size.

    python -m bench.inspect_speed [--rows 100000]

Writes each foreign export of tests/support/foreign_exports.py with enough customers for about
`--rows` order rows into a temporary folder, runs `ingest.inspect.inspect_landing` on it (no
mapping.yaml variant too, which adds the suggestion), and prints rows, wall seconds and CPU
seconds (user + system, all threads: what the run costs when the machine is shared). The
target is under 5 s wall per folder at 100k rows.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from ingest.inspect import inspect_landing
from orchestration.settings import from_env
from tests.support.foreign_exports import WRITERS

# Orders per simulated customer, roughly, in the foreign exports.
ROWS_PER_CUSTOMER = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, writer in WRITERS.items():
            landing = Path(tmp) / name
            orders = writer(landing, n_customers=max(1, args.rows // ROWS_PER_CUSTOMER))
            for variant in ("mapped", "no mapping"):
                if variant == "no mapping":
                    (landing / "mapping.yaml").unlink(missing_ok=True)
                started, cpu_started = time.perf_counter(), _cpu_seconds()
                inspection = inspect_landing(landing, from_env().min_valid_date)
                seconds = time.perf_counter() - started
                cpu = _cpu_seconds() - cpu_started
                orders_entity = next(e for e in inspection.entities if e.entity == "orders")
                print(
                    f"{name:<26} {variant:<11} {len(orders):>9,} rows  {seconds:6.2f} s wall  "
                    f"{cpu:6.2f} s CPU  "
                    f"usable {orders_entity.rows_usable:>9,}"
                )


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


if __name__ == "__main__":
    main()
