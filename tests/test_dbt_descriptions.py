"""Every dbt model and every data test says what it is in dbt's docs and Dagster's asset
checks: the manifest of this session (conftest parses the project as it is now, so models and
tests added on other branches are checked too after a merge)."""

from __future__ import annotations

import json

from orchestration.project import dbt_project


def test_every_model_and_data_test_has_a_description() -> None:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    nodes = manifest["nodes"].values()
    models = [node for node in nodes if node["resource_type"] == "model"]
    tests = [node for node in nodes if node["resource_type"] == "test"]
    assert models and tests

    def undescribed(kind: list[dict]) -> list[str]:
        return sorted(
            f"{node['original_file_path']}: {node['name']}"
            for node in kind
            if not (node.get("description") or "").strip()
        )

    assert undescribed(models) == [], "models without a description"
    assert undescribed(tests) == [], "data tests without a description (add `description:`)"
