"""BENCHMARKS.md from a benchmark run."""

from __future__ import annotations

from pathlib import Path

TARGETS = {
    "full refresh at 1M customers": "<= 120 s",
    "peak memory at 1M customers": "<= 6 GiB",
    "feature marts vs pandas": ">= 2x faster (at 100k)",
    "feature marts vs polars (lazy, streaming)": "at least as fast (at 1M)",
    "daily incremental refresh": "<= 20% of the full refresh",
}


def target_status(results: list) -> list[str]:
    """Each target against the largest scale measured."""
    large = results[-1]
    rows = [
        ("full refresh", f"{large.total_seconds:.0f} s", large.total_seconds <= 120),
        ("peak memory", f"{large.peak_gib:.1f} GiB", large.peak_gib <= 6),
    ]
    # pandas is judged where it fits (the smallest scale measured); polars at the largest.
    with_pandas = [r for r in results if r.pandas_seconds is not None]
    if with_pandas:
        small = with_pandas[0]
        ratio = small.pandas_seconds / small.ours_feature_seconds
        rows.append((f"feature marts vs pandas ({small.customers:,})", f"{ratio:.1f}x", ratio >= 2))
    if getattr(large, "polars_seconds", None) is not None:
        ratio = large.polars_seconds / large.polars_ours_seconds
        rows.append(("feature marts vs polars", f"{ratio:.2f}x", ratio >= 1))
    if large.incremental_seconds is not None:
        share = large.incremental_seconds / large.total_seconds
        measured, judged = f"{share:.0%} of full", share
        if large.anchor_step_seconds is not None:
            # Judged on the week: six plain days and the one that moves the training anchor.
            judged = _week_average(large) / large.total_seconds
            measured += f" ({judged:.0%} averaged over a week)"
        rows.append(("daily incremental refresh", measured, judged <= 0.2))
    return [
        f"## Targets at {large.customers:,} customers",
        "",
        "| Target | Measured | Met |",
        "|---|---|---|",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in rows],
        "",
    ]


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
        if result.pandas_seconds is None and getattr(result, "pandas_status", "failed") == "failed":
            lines += [
                "Features vs pandas: the pandas reference did not finish at this scale (its "
                "process died; out of memory is the usual cause, see the benchmark log).",
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
        if getattr(result, "polars_status", "skipped") == "failed":
            lines += ["Features vs polars: the polars reference's process died.", ""]
        if getattr(result, "polars_seconds", None) is not None:
            ratio = result.polars_seconds / result.polars_ours_seconds
            lines += [
                f"Features vs polars (lazy, streaming, same files and numbers): polars "
                f"{result.polars_seconds:.1f} s, ours (raw load + dbt, built again) "
                f"{result.polars_ours_seconds:.1f} s: **{ratio:.2f}x**; same numbers: "
                f"{result.polars_match}.",
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
        if result.anchor_step_seconds is not None and result.incremental_seconds is not None:
            share = result.anchor_step_seconds / result.total_seconds
            week = _week_average(result)
            lines += [
                f"Once a week the historical training cutoffs move (`training_anchor_days`) and "
                f"their snapshots are rebuilt: the refresh that loaded {result.anchor_step_days} "
                f"new day(s) up to the next anchor took {result.anchor_step_seconds:.1f} s = "
                f"{share:.0%} of the full refresh (dbt "
                f"{_stage_seconds(result.anchor_step_stages, 'dbt feature marts'):.1f} s). "
                f"Six plain days and that one average {week:.1f} s a day = "
                f"{week / result.total_seconds:.0%}.",
                "",
            ]
        if result.training_samples:
            lines += [
                "Churn and value training by rows sampled per cutoff (`max_rows_per_cutoff`, "
                "default 20,000; `python -m bench.churn_sample`). Time covers loading the sample "
                "and training; metrics are on the newest validation cutoff, sampled alike:",
                "",
                "| Rows per cutoff | Seconds | Validation rows | Churn AUC | Recency AUC "
                "| Top-decile lift | Value Spearman |",
                "|---:|---:|---:|---:|---:|---:|---:|",
                *[
                    f"| {'all' if s['cap'] <= 0 else format(s['cap'], ',')} | {s['seconds']:.1f} "
                    f"| {s['churn_rows']:,} | {s['auc']:.4f} | {s['recency_auc']:.4f} "
                    f"| {s['top_decile_lift']:.2f} | {s['value_spearman']} |"
                    for s in result.training_samples
                ],
                "",
            ]
    lines += target_status(results)
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


def _stage_seconds(stages: list, name: str) -> float:
    return sum(s.seconds for s in stages if s.stage == name)


def _week_average(result) -> float:
    """Seconds a day over a week: six plain daily refreshes and the one that moves the anchor."""
    return (6 * result.incremental_seconds + result.anchor_step_seconds) / 7
