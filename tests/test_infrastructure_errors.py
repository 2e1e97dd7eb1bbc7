"""A damaged warehouse file or a full disk fails the refresh at once with the cause and the path
(no minutes of retries), failed publishes and exports leave no temp files, and dbt's
per-invocation target folders do not pile up."""

import errno
import os
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_data import generate, write_dataset
from orchestration.cli import main
from orchestration.defs.dbt import prune_dbt_targets
from publishing import exports
from publishing.exports import ExportPolicy, write_exports
from publishing.serving import PublishError, PublishRecord, publish_serving_database

# Well under one retry cycle (TRANSIENT_RETRY: 3 retries from 5 s, plus the connection's own
# lock retries: minutes), with room for a slow shared machine.
FAST_SECONDS = 60


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("infra")
    return write_dataset(
        generate(n_customers=60, seed=5), root / "landing", root / "truth"
    ).landing_dir


def _run(monkeypatch, capsys, landing: Path, warehouse: Path) -> tuple[int, str, float]:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("INSIGHTS_LANDING_DIR", str(landing))
    monkeypatch.setenv("INSIGHTS_WAREHOUSE_PATH", str(warehouse))
    started = time.perf_counter()
    code = main(["run"])
    return code, capsys.readouterr().err, time.perf_counter() - started


@pytest.mark.parametrize(
    "content", [b"", b"\x00garbage, not a database\n" * 500], ids=["0-byte", "garbage"]
)
def test_a_damaged_warehouse_file_fails_fast_naming_cause_and_path(
    monkeypatch, capsys, landing: Path, tmp_path: Path, content: bytes
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(content)
    code, stderr, seconds = _run(monkeypatch, capsys, landing, warehouse)
    assert code == 1
    assert seconds < FAST_SECONDS, seconds
    assert "not a valid DuckDB database file" in stderr
    assert str(warehouse) in stderr
    assert "Exceeded max_retries" not in stderr
    assert warehouse.read_bytes() == content  # left for the user to inspect or restore


def test_a_full_disk_fails_fast_and_the_load_leaves_nothing_half_written(
    monkeypatch, capsys, landing: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("INSIGHTS_FAILPOINT", "load:before_record@enospc")
    warehouse = tmp_path / "warehouse.duckdb"
    code, stderr, seconds = _run(monkeypatch, capsys, landing, warehouse)
    assert code == 1
    assert seconds < FAST_SECONDS, seconds
    assert "No space left on device" in stderr
    assert str(warehouse) in stderr
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        raw = con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_name in ('orders', 'orders_files')"
        ).fetchall()
    finally:
        con.close()
    assert raw == []  # rows and file records rolled back together


def test_a_failed_serving_publish_removes_its_temp_files(monkeypatch, tmp_path: Path) -> None:
    warehouse = duckdb.connect()
    warehouse.execute("create schema analytics")
    warehouse.execute("create table analytics.customer_360 as select 'X1' as customer_id")
    serving = tmp_path / "serving.duckdb"
    # A build killed earlier left its temp file and log behind.
    (tmp_path / ".serving.duckdb.dead.tmp").write_bytes(b"x")
    (tmp_path / ".serving.duckdb.dead.tmp.wal").write_bytes(b"x")
    monkeypatch.setenv("INSIGHTS_FAILPOINT", "publish:tables_copied@enospc")
    record = PublishRecord("2026-01-01", None, None, "f")
    with pytest.raises(PublishError, match="No space left on device"):
        publish_serving_database(warehouse, serving, ["customer_360"], record)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_export_removes_its_partial_folder(monkeypatch, tmp_path: Path) -> None:
    stale = tmp_path / ".versions" / "2025-12-31-deadbeef.partial"
    stale.mkdir(parents=True)

    def full_disk(audiences, folder):
        (folder / "segment_1_x.csv").write_text("half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(exports, "_write_files", full_disk)
    audiences = {"segment_1_x": pd.DataFrame({"customer_id": ["X1"]})}
    with pytest.raises(PublishError, match=f"{tmp_path}.*No space left on device"):
        write_exports(audiences, tmp_path, "2026-01-01", {}, ExportPolicy())
    assert list((tmp_path / ".versions").iterdir()) == []
    assert not (tmp_path / "2026-01-01").exists()


def test_dbt_target_folders_of_runs_before_the_last_five_are_pruned(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "partial_parse.msgpack").write_bytes(b"x")
    runs = [f"{n:07x}" for n in range(8)]  # run ids, oldest first
    for age, run in enumerate(reversed(runs)):
        for step in ("dbt_models", "dbt_serving_models"):
            folder = tmp_path / f"{step}-{run}-{age:07x}"
            folder.mkdir()
            (folder / "dbt.log").write_text("log")
            stamp = time.time() - 3600 * age
            os.utime(folder, (stamp, stamp))
    removed = prune_dbt_targets(tmp_path)
    assert len(removed) == 6
    kept = {p.name.split("-")[1] for p in tmp_path.iterdir() if p.is_dir()}
    assert kept == set(runs[-5:])
    assert (tmp_path / "manifest.json").exists() and (tmp_path / "partial_parse.msgpack").exists()
