from pathlib import Path

import pytest

from ingest.mapping import MappingError, load_mapping, parse_mapping


def test_missing_mapping_file_means_the_plain_contract(tmp_path: Path) -> None:
    mapping = load_mapping(tmp_path)
    assert mapping.source is None
    assert mapping["orders"].source_column("customer_id") == "customer_id"
    assert "orders.csv" in mapping["orders"].default_patterns()


def test_full_entity_mapping_is_parsed(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(
        """
orders:
  files: [export_*.csv]
  delimiter: ";"
  encoding: LATIN-1
  date_format: "%d/%m/%Y"
  decimal_separator: ","
  columns: {customer_id: customer, ordered_at: date, amount: value}
  status_values: {Storno: cancelled, OK: completed}
"""
    )
    orders = load_mapping(tmp_path)["orders"]
    assert orders.files == ("export_*.csv",)
    assert orders.delimiter == ";"
    assert orders.encoding == "latin-1"
    assert orders.source_column("amount") == "value"
    assert orders.source_column("status") == "status"
    assert orders.status_values == {"storno": "cancelled", "ok": "completed"}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"invoices": {}}, "unknown key(s) ['invoices']"),
        ({"orders": {"colums": {}}}, "orders: unknown key(s) ['colums']"),
        ({"orders": {"columns": {"price": "value"}}}, "['price'] not in the orders contract"),
        ({"orders": {"status_values": {"x": "shipped"}}}, "['shipped'] are not contract statuses"),
        ({"events": {"status_values": {"x": "completed"}}}, "only orders have a status"),
        ({"orders": {"delimiter": ""}}, "orders.delimiter: must be a character"),
        ({"orders": {"delimiter": ";", "widths": [3, 4]}}, "either `widths`"),
        ({"orders": {"widths": [3, 0]}}, "orders.widths: give the width"),
        ({"orders": {"column_names": ["a", "b"]}}, "add `header: false`"),
        ({"orders": {"thousands_separator": "_"}}, "thousands_separator: must be"),
        ({"orders": {"decimal_separator": ",", "thousands_separator": ","}}, "differ from"),
        ({"orders": {"columns": {"amount": 0}}}, "1-based positions"),
        ({"events": {"merge_same_time_rows": True}}, "only orders can be merged"),
        ({"orders": {"format": "xlsx"}}, "orders.format: 'xlsx' is not one of"),
        ({"orders": {"date_format": "DD/MM/YYYY"}}, "is not a strptime format"),
        ({"orders": {"decimal_separator": ";"}}, "decimal_separator: must be"),
        ({"orders": {"encoding": "ebcdic"}}, "orders.encoding: 'ebcdic'"),
        (["orders"], "top level must be a mapping"),
    ],
)
def test_mapping_errors_name_the_offending_key(raw: object, fragment: str) -> None:
    with pytest.raises(MappingError) as excinfo:
        parse_mapping(raw, source=Path("/landing/mapping.yaml"))
    assert fragment in str(excinfo.value)
    assert "/landing/mapping.yaml" in str(excinfo.value)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text("orders: [unclosed\n")
    with pytest.raises(MappingError, match=r"mapping\.yaml: not valid YAML"):
        load_mapping(tmp_path)
