"""Shared fixtures: a prepared dbt manifest and a refreshed demo warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.refresh import RefreshedWarehouse, refresh


def pytest_sessionstart(session: pytest.Session) -> None:
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
