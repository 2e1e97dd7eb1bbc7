"""The suppression list: customers who asked to be forgotten, kept only as salted hashes.

`insights forget C123` (or the Dagster job `forget_customers`) adds SHA-256(salt + id) to
`suppression.csv`. The loader drops every landing row whose customer id hashes into the list,
so re-ingesting an erased customer's rows never brings them back, and the erasure step removes
them from history tables and past exports. Neither file holds a raw id. The salt is a random
secret created on first use: without it the hashes of short ids like "C0000042" could be
reversed by trying them all; with a lost salt the list can no longer be matched, so back the
folder up with the warehouse.
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingest.landing import Suppression

SALT_FILE = "salt"
SUPPRESSION_FILE = "suppression.csv"
ERASURE_LOG_FILE = "erasure_log.csv"
LOG_FIELDS = ("customer_hash", "event", "at", "details")


@dataclass(frozen=True)
class SuppressionList:
    folder: Path

    def _salt(self) -> bytes:
        path = self.folder / SALT_FILE
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(".tmp")
            temp.write_text(secrets.token_hex(32))
            os.chmod(temp, 0o600)
            os.replace(temp, path)
        return bytes.fromhex(path.read_text().strip())

    def salt_hex(self) -> str:
        """The salt as hex, for hashing inside SQL (never logged or written elsewhere)."""
        return self._salt().hex()

    def hash(self, customer_id: str) -> str:
        """SHA-256 of the hex salt followed by the trimmed id: the same as `salted_hash_sql`."""
        return hashlib.sha256((self.salt_hex() + str(customer_id).strip()).encode()).hexdigest()

    def loader_filter(self) -> Suppression | None:
        """What the raw loader needs to drop erased customers (None when nobody is erased)."""
        hashes = self.hashes()
        if not hashes:
            return None
        return Suppression(salt_hex=self.salt_hex(), customer_hashes=frozenset(hashes))

    def hashes(self) -> set[str]:
        path = self.folder / SUPPRESSION_FILE
        if not path.exists():
            return set()
        with path.open(newline="") as stream:
            return {row["customer_hash"] for row in csv.DictReader(stream)}

    def forget(self, customer_ids: list[str], source: str) -> list[str]:
        """Add customers to the list (idempotent); returns the hashes that were new."""
        known = self.hashes()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        new = []
        for customer_id in customer_ids:
            if not str(customer_id).strip():
                raise ValueError("an empty customer id cannot be forgotten")
            hashed = self.hash(customer_id)
            if hashed not in known:
                new.append(hashed)
                known.add(hashed)
        if new:
            self._append(
                SUPPRESSION_FILE, ("customer_hash", "requested_at"), [(h, now) for h in new]
            )
            self.log([(h, "requested", now, f"via {source}") for h in new])
        return new

    def log(self, rows: list[tuple[str, str, str, str]]) -> None:
        self._append(ERASURE_LOG_FILE, LOG_FIELDS, rows)

    def erasure_log(self) -> list[dict[str, str]]:
        path = self.folder / ERASURE_LOG_FILE
        if not path.exists():
            return []
        with path.open(newline="") as stream:
            return list(csv.DictReader(stream))

    def _append(self, name: str, header: tuple[str, ...], rows: list[tuple]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        write_header = not path.exists()
        with path.open("a", newline="") as stream:
            writer = csv.writer(stream)
            if write_header:
                writer.writerow(header)
            writer.writerows(rows)
            stream.flush()
            os.fsync(stream.fileno())


def salted_hash_sql(column: str, salt_hex: str) -> str:
    """The SQL twin of SuppressionList.hash for DuckDB."""
    return f"sha256('{salt_hex}' || trim(cast({column} as varchar)))"
