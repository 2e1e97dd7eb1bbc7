"""What sampling the churn/value training rows costs in quality and saves in time.

    python -m bench.churn_sample --warehouse /path/to/warehouse.duckdb [--caps 5000 20000 0]

Samples marts.churn_training_set of a built warehouse as the churn_model asset does (in the
warehouse, `sampled_training_set`) and trains the churn and value models
(`ml.prediction.train_prediction`) for several values of `max_rows_per_cutoff` (0: every row).
Prints, per cap, the wall time (load + train), the validation rows, the selected churn model's
validation ROC AUC and top-decile lift, and the value model's Spearman correlation. The
validation cutoff is sampled with the same cap, so small caps also have noisier metrics
(about +-0.01 AUC at 5,000 rows).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from engines.duckdb_engine import DuckDBEngine
from ml.prediction.churn import ChurnConfig
from ml.prediction.training import train_prediction
from orchestration.defs.prediction import sampled_training_set


@dataclass
class SampleResult:
    cap: int
    seconds: float
    churn_rows: int
    auc: float
    recency_auc: float
    top_decile_lift: float
    value_spearman: float | None


def load_training_set(warehouse: Path, cap: int):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        horizon = con.execute("select churn_horizon_days from marts.run_context").fetchall()[0][0]
        frame = sampled_training_set(DuckDBEngine(con), ChurnConfig().active_window_days, cap)
    finally:
        con.close()
    return frame, horizon


def measure(warehouse: Path, caps: list[int]) -> list[SampleResult]:
    """Per cap: load the sample and train (the time covers both, as in the asset)."""
    results = []
    for cap in caps:
        started = time.perf_counter()
        training_set, horizon = load_training_set(warehouse, cap)
        result = train_prediction(training_set, horizon, ChurnConfig(max_rows_per_cutoff=cap))
        seconds = time.perf_counter() - started
        metrics = result.churn.metrics.set_index("scorer")
        selected = metrics.loc[result.churn.selected]
        value = result.value_metrics
        spearman = None
        if "spearman" in value.columns and len(value):
            spearman = float(value["spearman"].iloc[0])
        results.append(
            SampleResult(
                cap=cap,
                seconds=round(seconds, 1),
                churn_rows=len(result.churn.validation_rows),
                auc=round(float(selected["roc_auc"]), 4),
                recency_auc=round(result.churn.auc("recency"), 4),
                top_decile_lift=round(float(selected["top_decile_lift"]), 2),
                value_spearman=None if spearman is None else round(spearman, 4),
            )
        )
        print_result(results[-1])
    return results


def print_result(r: SampleResult) -> None:
    cap = "all" if r.cap <= 0 else f"{r.cap:,}"
    print(
        f"  cap {cap:>8} per cutoff: {r.seconds:>6.1f}s  validation rows {r.churn_rows:>7,}  "
        f"AUC {r.auc:.4f} (recency {r.recency_auc:.4f})  lift {r.top_decile_lift:.2f}  "
        f"value spearman {r.value_spearman}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--caps", type=int, nargs="+", default=[5_000, 10_000, 20_000, 50_000, 0])
    args = parser.parse_args()
    measure(args.warehouse, args.caps)


if __name__ == "__main__":
    main()
