"""Fitted models on disk: one file per version with a JSON of metadata, and a pointer to the
model in use per kind. Writes are atomic (temp file, then rename), so a killed run never leaves
a half-written model or pointer."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import joblib
import pandas as pd


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, kind: str) -> Path:
        return self.root / kind

    def save(self, kind: str, version: str, model: Any, metadata: dict[str, Any]) -> Path:
        folder = self._dir(kind)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{version}.joblib"
        _atomic_write(path, lambda handle: joblib.dump(model, handle))
        meta = {"version": version, **metadata}
        _atomic_write(
            folder / f"{version}.json",
            lambda handle: handle.write(json.dumps(meta, indent=2, default=str).encode()),
        )
        return path

    def save_tables(self, kind: str, version: str, tables: dict[str, pd.DataFrame]) -> None:
        """Frames that belong to a model version (its metrics, calibration, ...), so a warehouse
        rebuilt from scratch can get them back without retraining."""
        folder = self._dir(kind)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / f"{version}.tables.joblib", lambda h: joblib.dump(tables, h))

    def load_tables(self, kind: str, version: str) -> dict[str, pd.DataFrame]:
        path = self._dir(kind) / f"{version}.tables.joblib"
        return joblib.load(path) if path.exists() else {}

    def load(self, kind: str, version: str) -> Any:
        return joblib.load(self._dir(kind) / f"{version}.joblib")

    def metadata(self, kind: str, version: str) -> dict[str, Any]:
        return json.loads((self._dir(kind) / f"{version}.json").read_text())

    def set_current(self, kind: str, version: str) -> None:
        if not (self._dir(kind) / f"{version}.joblib").exists():
            raise FileNotFoundError(f"no {kind} model {version} in {self._dir(kind)}")
        _atomic_write(self._dir(kind) / "current", lambda handle: handle.write(version.encode()))

    def current_version(self, kind: str) -> str | None:
        pointer = self._dir(kind) / "current"
        return pointer.read_text().strip() if pointer.exists() else None

    def load_current(self, kind: str) -> tuple[str, Any] | None:
        version = self.current_version(kind)
        if version is None:
            return None
        return version, self.load(kind, version)


def _atomic_write(path: Path, write: Any) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.chmod(temp, 0o644)  # mkstemp creates 0600; models are shared like any output
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
