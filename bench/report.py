"""BENCHMARKS.md from a benchmark run."""

from __future__ import annotations

from pathlib import Path

TARGETS = {
    "full refresh at 1M customers": "<= 120 s",
    "peak memory at 1M customers": "<= 6 GiB",
    "feature marts vs pandas": ">= 2x faster",
    "daily incremental refresh": "<= 20% of the full refresh",
}


def write_benchmarks(path: Path, machine: dict[str, str], results: list) -> Path:
    lines = [
        "# Benchmarks",
        "",
        "Measured by `python -m bench.run --customers 100000 1000000 --write` (see `bench/`).",
        "Numbers are wall time of each stage of one full refresh through Dagster, and peak",
        "resident memory of the pipeline process plus dbt.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in machine.items()],
        "",
        "## Targets",
        "",
        "| Target | Goal |",
        "|---|---|",
        *[f"| {name} | {goal} |" for name, goal in TARGETS.items()],
        "",
    ]
    for result in results:
        lines += [
            f"## {result.customers:,} customers",
            "",
            "Rows: "
            + ", ".join(f"{name} {rows:,}" for name, rows in result.rows.items())
            + f" (generated in {result.generate_seconds:.0f} s).",
            "",
            "| Stage | Seconds | Peak GiB |",
            "|---|---:|---:|",
            *[f"| {s.stage} | {s.seconds:.1f} | {s.peak_gib:.2f} |" for s in result.stages],
            f"| **full refresh** | **{result.total_seconds:.1f}** | **{result.peak_gib:.2f}** |",
            "",
        ]
        if result.pandas_seconds is not None:
            ratio = result.pandas_seconds / result.ours_feature_seconds
            lines += [
                f"Features (RFM + engagement, as-of date only, from the Parquet files): pandas "
                f"{result.pandas_seconds:.1f} s, ours (raw load + dbt) "
                f"{result.ours_feature_seconds:.1f} s: **{ratio:.1f}x**; same numbers: "
                f"{result.features_match}.",
                "",
            ]
        if result.incremental_seconds is not None:
            share = result.incremental_seconds / result.total_seconds
            lines += [
                f"Daily incremental refresh (one new day of orders and events): "
                f"{result.incremental_seconds:.1f} s = **{share:.0%}** of the full refresh.",
                "",
                "| Stage | Seconds | Peak GiB |",
                "|---|---:|---:|",
                *[
                    f"| {s.stage} | {s.seconds:.1f} | {s.peak_gib:.2f} |"
                    for s in result.incremental_stages
                ],
                "",
            ]
    if len(results) > 1:
        small, large = results[0], results[-1]
        lines += [
            "## Growth",
            "",
            f"From {small.customers:,} to {large.customers:,} customers "
            f"({large.customers / small.customers:.0f}x): time "
            f"{large.total_seconds / small.total_seconds:.1f}x, memory "
            f"{large.peak_gib / max(small.peak_gib, 0.01):.1f}x.",
            "",
        ]
    path.write_text("\n".join(lines))
    return path
