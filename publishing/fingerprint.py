"""A fingerprint of the source data: SHA-256 over the landing files' names and bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def landing_fingerprint(landing_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(
        p for p in Path(landing_dir).rglob("*") if p.is_file() and not p.name.startswith(".")
    ):
        digest.update(str(path.relative_to(landing_dir)).encode())
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
