"""Shared fixtures: a prepared dbt manifest and a refreshed demo warehouse.

The suite runs on two pytest-xdist workers (`-n 2 --dist loadfile`, pyproject addopts): most
of a refresh is single-threaded (Dagster's in-process executor, dbt with one thread, pandas and
scikit-learn), so two at a time use both cores of a CI machine. Each module runs whole on one
worker, so a module-scoped fixture (one refresh serving several assertions) is built once;
`demo_warehouse` is session-scoped, built at most once per worker. (`--dist loadgroup` with
xdist_group marks would keep the demo tests on one worker, but xdist 3.8 cannot apply the
marks under pytest 9: it renames `item._nodeid`, which pytest 9 no longer reads.)

New tests need nothing special: take `demo_warehouse` where the demo data fits (it costs nothing
more), else a module-scoped fixture with a small generated set (a few hundred customers) that
all tests of the module share. A test that needs its own warehouse writes it under `tmp_path`
(unique per worker); never write to a fixed path in the repository or use a fixed port.
`pytest -n 0` runs everything in one process (e.g. with `--pdb`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.refresh import RefreshedWarehouse, refresh

# Each xdist worker (and each dbt or `insights run` subprocess a test starts) gets one OpenMP
# thread: scikit-learn's OpenMP threads spin-wait, and tests/test_ui_browser.py measured
# gradient boosting ~10x slower with 2 threads than with 1 on a busy 2-CPU machine (two workers
# with two threads each would be that case). Set before scikit-learn is imported; an explicit
# OMP_NUM_THREADS in the environment wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_sessionstart(session: pytest.Session) -> None:
    # xdist workers find the manifest the controller prepared before it started them (two
    # workers parsing into the same target/ folder at once would clash).
    if hasattr(session.config, "workerinput"):
        return
    # The dbt assets read the manifest when orchestration.definitions is imported, so parse the
    # project (as it is now) before any test module is collected.
    from orchestration.project import dbt_project

    dbt_project.preparer.prepare(dbt_project)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> RefreshedWarehouse:
    """The built-in demo data (2,000 customers) after one full refresh through Dagster."""
    from demo_data import generate, write_dataset

    root = tmp_path_factory.mktemp("demo")
    written = write_dataset(generate(n_customers=2000, seed=7), root / "landing", root / "truth")
    return refresh(written.landing_dir, root / "warehouse.duckdb", truth_dir=written.truth_dir)


@pytest.fixture
def landing_dir(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path
