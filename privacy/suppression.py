"""The suppression list: customers who asked to be forgotten, kept only as salted hashes.

`insights forget C123` (or the Dagster job `forget_customers`) adds SHA-256(salt + normalised
id) to `suppression.csv` (ingest/identifiers.py: trimmed, NFKC, zero-width characters removed,
case-folded unless INSIGHTS_CUSTOMER_IDS_CASE_INSENSITIVE=false). The loader drops every landing
row whose customer id hashes into the list (and customer rows with an erased person's e-mail),
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

from ingest.identifiers import ID_SCHEMES, current_id_scheme, normalise_id
from ingest.landing import Suppression

SALT_FILE = "salt"
SUPPRESSION_FILE = "suppression.csv"
ERASURE_LOG_FILE = "erasure_log.csv"
LOG_FIELDS = ("customer_hash", "event", "at", "details")
SUPPRESSION_FIELDS = ("customer_hash", "requested_at", "kind")
LEGACY_KIND = "id_trim"
EMAIL_KIND = "email"


@dataclass(frozen=True)
class SuppressionList:
    """suppression.csv: one row per erased customer id or e-mail, `customer_hash` salted, with
    `kind` saying what was hashed: an id normalised under one of ingest/identifiers.py's
    schemes (`id_nfkc_casefold`, `id_nfkc`; `id_trim` for rows of lists written before ids were
    normalised, which have no `kind` column) or `email` (the salted email_sha256 of an erased
    customer, learned when the loader drops their customer row)."""

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

    def hash(self, customer_id: str, scheme: str | None = None) -> str:
        """SHA-256 of the hex salt followed by the id normalised under `scheme` (default: the
        scheme of new requests, INSIGHTS_CUSTOMER_IDS_CASE_INSENSITIVE); the same as
        `Suppression.hash_sql` in the loader."""
        normalised = normalise_id(customer_id, scheme or current_id_scheme())
        return hashlib.sha256((self.salt_hex() + normalised).encode()).hexdigest()

    def email_key(self, email_sha256: str) -> str:
        """The list's key of an e-mail, from its export form (SHA-256 of the trimmed,
        lower-cased address)."""
        return hashlib.sha256((self.salt_hex() + email_sha256).encode()).hexdigest()

    def entries(self) -> dict[str, str]:
        """hash -> kind of every row of the list."""
        path = self.folder / SUPPRESSION_FILE
        if not path.exists():
            return {}
        with path.open(newline="") as stream:
            return {
                row["customer_hash"]: row.get("kind") or LEGACY_KIND
                for row in csv.DictReader(stream)
            }

    def hashes(self) -> set[str]:
        """Hashes of erased customer ids (any scheme)."""
        return {h for h, kind in self.entries().items() if kind != EMAIL_KIND}

    def email_keys(self) -> set[str]:
        return {h for h, kind in self.entries().items() if kind == EMAIL_KIND}

    def id_schemes(self) -> tuple[str, ...]:
        """The schemes the list's id hashes were made under (the loader checks each)."""
        kinds = set(self.entries().values()) - {EMAIL_KIND}
        return tuple(scheme for scheme in ID_SCHEMES if scheme in kinds)

    def matching_hash(self, customer_id: object) -> str | None:
        """The list entry this id matches under any stored scheme, else None."""
        entries = self.entries()
        for scheme in self.id_schemes():
            hashed = self.hash(str(customer_id), scheme)
            if hashed in entries:
                return hashed
        return None

    def loader_filter(self) -> Suppression | None:
        """What the raw loader needs to drop erased customers (None when nobody is erased)."""
        hashes, emails = self.hashes(), self.email_keys()
        if not hashes and not emails:
            return None
        return Suppression(
            salt_hex=self.salt_hex(),
            customer_hashes=frozenset(hashes),
            id_schemes=self.id_schemes() or (current_id_scheme(),),
            email_keys=frozenset(emails),
        )

    def forget(self, customer_ids: list[str], source: str) -> list[str]:
        """Add customers to the list (idempotent); returns the hashes that were new."""
        known = self.entries()
        scheme = current_id_scheme()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        new = []
        for customer_id in customer_ids:
            if not normalise_id(customer_id, scheme):
                raise ValueError("an empty customer id cannot be forgotten")
            if self.matching_hash(customer_id) is not None:
                continue
            hashed = self.hash(customer_id, scheme)
            if hashed not in known and hashed not in new:
                new.append(hashed)
        if new:
            self._append_entries([(h, now, scheme) for h in new])
            self.log([(h, "requested", now, f"via {source}") for h in new])
        return new

    def add_email_keys(self, keys: set[str], source: str) -> list[str]:
        """Remember erased customers' e-mails (as keys); returns the keys that were new."""
        new = sorted(set(keys) - set(self.entries()))
        if new:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            self._append_entries([(h, now, EMAIL_KIND) for h in new])
            self.log([(h, "email_suppressed", now, f"via {source}") for h in new])
        return new

    def log(self, rows: list[tuple[str, str, str, str]]) -> None:
        self._append(ERASURE_LOG_FILE, LOG_FIELDS, rows)

    def erasure_log(self) -> list[dict[str, str]]:
        path = self.folder / ERASURE_LOG_FILE
        if not path.exists():
            return []
        with path.open(newline="") as stream:
            return list(csv.DictReader(stream))

    def _append_entries(self, rows: list[tuple[str, str, str]]) -> None:
        path = self.folder / SUPPRESSION_FILE
        if path.exists():
            with path.open(newline="") as stream:
                header = next(csv.reader(stream), [])
            if "kind" not in header:
                self._add_kind_column(path)
        self._append(SUPPRESSION_FILE, SUPPRESSION_FIELDS, rows)

    def _add_kind_column(self, path: Path) -> None:
        """A list written before ids were normalised: its rows are `id_trim` hashes."""
        with path.open(newline="") as stream:
            rows = list(csv.DictReader(stream))
        temp = path.with_suffix(".tmp")
        with temp.open("w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(SUPPRESSION_FIELDS)
            writer.writerows((r["customer_hash"], r["requested_at"], LEGACY_KIND) for r in rows)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)

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
