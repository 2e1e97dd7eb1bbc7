"""A BI tool's view of the serving database: SQLAlchemy with duckdb-engine, read-only, as
Superset and other SQLAlchemy-based tools connect (the README's URI), with the description of
every table and column visible."""

from __future__ import annotations

import pytest

from tests.refresh import RefreshedWarehouse

sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("duckdb_engine", reason="duckdb-engine is a dev dependency")

SERVING_TABLES = {
    "customer_360",
    "segment_summary",
    "segment_migrations",
    "churn_model_metrics",
    "score_history",
    "segment_history",
    "publish_log",
}


def test_bi_reads_the_serving_database_read_only_with_every_comment(
    demo_warehouse: RefreshedWarehouse,
) -> None:
    serving = demo_warehouse.warehouse_path.parent / "serving.duckdb"
    engine = sqlalchemy.create_engine(f"duckdb:///{serving}?access_mode=READ_ONLY")
    try:
        inspector = sqlalchemy.inspect(engine)
        assert set(inspector.get_table_names(schema="analytics")) == SERVING_TABLES
        for table in SERVING_TABLES:
            assert inspector.get_table_comment(table, schema="analytics")["text"], table

        with engine.connect() as connection:
            customers = connection.execute(
                sqlalchemy.text("select count(*) from analytics.customer_360")
            ).scalar()
            assert customers == 2000
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
                connection.execute(sqlalchemy.text("delete from analytics.customer_360"))
            connection.rollback()
            uncommented = connection.execute(
                sqlalchemy.text(
                    "select table_name, column_name from duckdb_columns() "
                    "where schema_name = 'analytics' and coalesce(comment, '') = ''"
                )
            ).fetchall()
        assert uncommented == []

        # Column comments through the inspector, as Superset shows them in its dataset editor
        # (needs SQLAlchemy < 2.0.45 with duckdb-engine 0.17, pinned in the dev extras).
        for table in SERVING_TABLES:
            columns = inspector.get_columns(table, schema="analytics")
            assert columns, table
            assert [c["name"] for c in columns if not c["comment"]] == [], table
    finally:
        engine.dispose()
