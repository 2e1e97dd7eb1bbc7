"""Rewrite a DuckDB file so that deleted rows are gone from its bytes, not just from its tables.

DuckDB marks the blocks of deleted or replaced data as free and reuses them later; until then the
old values (an erased customer's id, e-mail, orders) are still readable in the file, and a
CHECKPOINT does not clear them. Copying the database into a new file writes only live data;
the copy then replaces the original in one rename.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import duckdb

from publishing.serving import fsync_dir

MARKER_FILE = "compacted"


def rewrite_database(path: Path, memory_limit: str | None = None) -> tuple[int, int]:
    """Copy every schema, table, view, sequence and macro of `path` into a new file and swap it
    in. Nothing else may have the file open. Returns (bytes before, bytes after)."""
    path = Path(path)
    before = path.stat().st_size
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.compact")
    con = duckdb.connect(str(path))
    try:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        catalog = con.execute("select current_database()").fetchall()[0][0]
        con.execute(f"attach '{_escape(str(temp))}' as _compacted")
        con.execute(f'copy from database "{catalog}" to _compacted')
        con.execute("detach _compacted")
    except BaseException:
        con.close()
        remove_temp_files(temp)
        raise
    con.close()
    if Path(f"{temp}.wal").exists():
        remove_temp_files(temp)
        raise RuntimeError(f"{temp} kept a write-ahead log after detach; {path} left as it was")
    os.replace(temp, path)
    fsync_dir(path.parent)
    return before, path.stat().st_size


def remove_stale_rewrites(path: Path) -> list[Path]:
    """Temp copies of rewrites that were interrupted (killed or failed)."""
    stale = list(Path(path).parent.glob(f".{Path(path).name}.*.compact*"))
    for leftover in stale:
        leftover.unlink(missing_ok=True)
    return stale


def remove_temp_files(temp: Path) -> None:
    for leftover in (temp, Path(f"{temp}.wal")):
        leftover.unlink(missing_ok=True)


def list_digest(entries: dict[str, str]) -> str:
    """Identifies a suppression list's content; the warehouse is rewritten when it changes."""
    return hashlib.sha256(",".join(sorted(entries)).encode()).hexdigest()


def compacted_digest(privacy_dir: Path) -> str | None:
    marker = Path(privacy_dir) / MARKER_FILE
    return marker.read_text().strip() if marker.exists() else None


def mark_compacted(privacy_dir: Path, digest: str) -> None:
    marker = Path(privacy_dir) / MARKER_FILE
    temp = marker.with_suffix(".tmp")
    temp.write_text(digest + "\n")
    os.replace(temp, marker)


def _escape(value: str) -> str:
    return value.replace("'", "''")
