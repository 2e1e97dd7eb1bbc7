"""The whole asset graph materialises through Dagster on the demo data, checks included."""

import dagster as dg
import pytest

from orchestration.definitions import defs
from tests.refresh import RefreshedWarehouse


def test_every_asset_materialises_and_every_check_passes(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    result = demo_warehouse.result
    assert result.success
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    graph = defs.resolve_asset_graph()
    executable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert executable <= materialised
    checks = result.get_asset_check_evaluations()
    assert len(checks) >= 50
    failed = [c.check_name for c in checks if not c.passed]
    assert failed == []


def test_lineage_runs_from_the_landing_file_to_the_feature_mart() -> None:
    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey(["marts", "customer_features"])).parent_keys
    seen, frontier = set(), set(upstream)
    while frontier:
        key = frontier.pop()
        seen.add(key)
        frontier |= set(graph.get(key).parent_keys) - seen
    for key in (
        ["landing", "orders"],
        ["raw", "orders"],
        ["staging", "stg_landing__orders"],
        ["intermediate", "int_customer_rfm_snapshots"],
        ["landing", "events"],
        ["raw", "events"],
    ):
        assert dg.AssetKey(key) in seen, key


def test_assets_are_grouped_by_layer() -> None:
    graph = defs.resolve_asset_graph()
    layers = {"landing", "raw", "staging", "intermediate", "marts", "quarantine", "reference"}
    downstream = {
        "ml": {"segmentation", "prediction", "recommendations"},
        "privacy": {"privacy"},
        "analytics": {"publishing"},
        "publish": {"publishing"},
    }
    for key in graph.get_all_asset_keys():
        group = graph.get(key).group_name
        if key.path[0] in downstream:
            assert group in downstream[key.path[0]], key
        else:
            assert key.path[0] in layers and group == key.path[0], key


def test_materialisations_carry_row_counts_and_column_types(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in demo_warehouse.result.get_asset_materialization_events()
    }
    features = events["marts/customer_features"]
    assert features["dagster/row_count"].value == 2000
    columns = {c.name: c for c in features["dagster/column_schema"].schema.columns}
    assert columns["recency_days"].type == "BIGINT"
    assert "last completed order" in columns["recency_days"].description
    raw_orders = events["raw/orders"]
    assert raw_orders["rows_read"].value == raw_orders["dagster/row_count"].value > 0


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("marts.customer_features", 2000),
        ("marts.customer_rfm", 2000),
        ("marts.customer_engagement", 2000),
        ("marts.run_context", 1),
    ],
)
def test_demo_marts_have_one_row_per_customer(
    demo_warehouse: RefreshedWarehouse, table: str, expected: int
) -> None:
    assert demo_warehouse.query(f"select count(*) as n from {table}")["n"][0] == expected


def test_demo_data_has_nothing_to_quarantine(demo_warehouse: RefreshedWarehouse) -> None:
    for entity in ("customers", "orders", "order_items", "events"):
        count = demo_warehouse.query(f"select count(*) as n from quarantine.quarantine_{entity}")
        assert count["n"][0] == 0, entity


def test_every_named_rfm_segment_appears_on_demo_data(demo_warehouse: RefreshedWarehouse) -> None:
    segments = set(
        demo_warehouse.query("select distinct rfm_segment from marts.customer_rfm")["rfm_segment"]
    )
    rules = set(
        demo_warehouse.query("select segment_name from reference.rfm_segment_rules")["segment_name"]
    )
    assert rules | {"No Purchase Yet"} == segments


def test_every_asset_check_and_dbt_model_is_described() -> None:
    graph = defs.resolve_asset_graph()
    undescribed_checks = [
        key.to_user_string()
        for key in graph.asset_check_keys
        if not graph.get_check_spec(key).description
    ]
    assert undescribed_checks == []
    undescribed_assets = [
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and not graph.get(key).description
    ]
    assert undescribed_assets == []


def test_owners_follow_the_domain() -> None:
    graph = defs.resolve_asset_graph()
    owners = {key.to_user_string(): graph.get(key).owners for key in graph.get_all_asset_keys()}
    assert owners["raw/orders"] == ["team:data-engineering"]
    assert owners["marts/customer_features"] == ["team:data-engineering"]
    assert owners["ml/churn_scores"] == ["team:data-science"]
    assert owners["ml/customer_segments"] == ["team:data-science"]
    assert owners["publish/segment_exports"] == ["team:marketing-ops"]


def test_python_assets_describe_every_column(demo_warehouse: RefreshedWarehouse) -> None:
    undescribed = {}
    for event in demo_warehouse.result.get_asset_materialization_events():
        key = event.asset_key.to_user_string()
        schema = event.materialization.metadata.get("dagster/column_schema")
        if schema is None or key.split("/")[0] not in ("raw", "ml"):
            continue
        missing = [c.name for c in schema.schema.columns if not c.description]
        if missing:
            undescribed[key] = missing
    assert undescribed == {}
