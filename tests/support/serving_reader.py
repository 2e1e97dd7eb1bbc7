"""A BI client in its own process: queries the serving database in a tight loop.

Usage: python -m tests.support.serving_reader SERVING_PATH STOP_FILE RESULT_FILE
Each query checks in one statement that customer_360 has as many rows as the latest
publish_log entry says, i.e. that it sees one complete snapshot.
"""

import json
import sys
import time
from pathlib import Path

import duckdb

QUERY = """
select
    (select count(*) from analytics.customer_360) as customers,
    (select customers from analytics.publish_log order by published_at desc limit 1) as logged,
    (select count(*) from analytics.publish_log) as publishes
"""


def main(serving: Path, stop: Path, result: Path) -> None:
    queries, errors, inconsistent, publishes_seen = 0, [], 0, set()
    while not stop.exists():
        if not serving.exists():
            time.sleep(0.01)
            continue
        try:
            con = duckdb.connect(str(serving), read_only=True)
            try:
                customers, logged, publishes = con.execute(QUERY).fetchone()
            finally:
                con.close()
            queries += 1
            publishes_seen.add(publishes)
            if customers != logged:
                inconsistent += 1
        except Exception as exc:  # every error is recorded and fails the test
            errors.append(f"{type(exc).__name__}: {exc}")
    result.write_text(
        json.dumps(
            {
                "queries": queries,
                "errors": errors[:20],
                "error_count": len(errors),
                "inconsistent": inconsistent,
                "publishes_seen": sorted(publishes_seen),
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
