"""A bare transactions export plus mapping.yaml runs end to end through the `insights` CLI."""

from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from tests.support.segment_rules import assert_segments_actionable


@pytest.fixture
def transactions_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INSIGHTS_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("INSIGHTS_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("INSIGHTS_AS_OF", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return tmp_path


def test_transactions_export_with_mapping_runs_end_to_end(
    transactions_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-data", "--customers", "600", "--shape", "transactions"]) == 0
    landing = transactions_env / "landing"
    assert sorted(p.name for p in landing.iterdir()) == [
        ".demo-data",
        "mapping.yaml",
        "transactions.csv",
    ]
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "Refresh succeeded" in out
    assert " ok dbt_models " in out and "As of " in out  # step lines and the summary

    con = duckdb.connect(str(transactions_env / "warehouse.duckdb"), read_only=True)
    exported = duckdb.execute(
        f"select count(*) from read_csv('{landing / 'transactions.csv'}', delim=';')"
    ).fetchone()[0]
    staged = con.execute("select count(*) from staging.stg_landing__orders").fetchone()[0]
    assert staged == exported
    features = con.execute(
        "select count(*), bool_or(events_available), sum(events_30d), sum(sessions_90d), "
        "count(email_open_rate_90d), bool_and(not in_customers_file), sum(frequency) "
        "from marts.customer_features"
    ).fetchone()
    assert features[0] > 500
    assert features[1:6] == (False, 0, 0, 0, True)
    assert features[6] == exported  # every exported transaction is a completed order
    # Segments and churn scores come from order behaviour alone.
    segment_features = con.execute("select features from ml.segment_models").fetchone()[0]
    assert "sessions" not in segment_features and "recency" in segment_features
    churn_features = con.execute("select features from ml.churn_models").fetchone()[0]
    assert "sessions_30d" not in churn_features and "recency_days" in churn_features
    scored = con.execute(
        "select count(*), count(churn_probability) from ml.churn_scores"
    ).fetchone()
    assert scored[0] == features[0] and scored[1] > 0
    # Without order lines the recommendation tables exist, typed and empty.
    for table in ("customer_recommendations", "segment_cross_sell", "segment_category_mix"):
        assert con.execute(f"select count(*) from ml.{table}").fetchone()[0] == 0
    skipped = con.execute("select distinct note from ml.recommendation_evaluation").fetchall()
    assert skipped == [("no order lines in the landing data: recommendations skipped",)]
    # ... and so are the behaviour marts, with the reason, and the customer_360 columns are null.
    for mart in ("customer_category_cadence", "customer_category_seasonality"):
        assert con.execute(f"select count(*) from marts.{mart}").fetchone()[0] == 0
    notes = con.execute(
        "select cadence_note, seasonality_note from intermediate.int_behaviour_notes"
    ).fetchone()
    assert all(note.startswith("no order lines in the landing data") for note in notes)
    assert con.execute(
        "select count(next_due_category) + count(next_seasonal_category) "
        "from analytics.customer_360"
    ).fetchone() == (0,)
    # Orders only, weak structure: still no majority segment, names true to the medians.
    summary = assert_segments_actionable(lambda sql: con.execute(sql).df())
    assert len(summary) >= 3


def test_run_with_a_bad_as_of_gives_a_clear_error(
    transactions_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--as-of", "01/02/2024"]) == 2
    assert "--as-of='01/02/2024' is not a date in YYYY-MM-DD form" in capsys.readouterr().err


def test_run_without_landing_files_names_the_missing_file(
    transactions_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (transactions_env / "landing").mkdir()
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "Refresh FAILED" in err
    assert "orders: no file found in" in err
    assert "`orders.files`" in err
