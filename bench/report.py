"""BENCHMARKS.md from a benchmark run."""

from __future__ import annotations

from pathlib import Path

# Issue 20's targets: the full and the daily refresh and memory at the largest scale, the
# features against pandas (where it fits, 100k) and polars (1M), and growth between the scales.
TARGETS = {
    "full refresh at 1M customers": "<= 200 s",
    "peak memory at 1M customers": "<= 6 GiB",
    "daily refresh at 1M (week average)": "<= 60 s and <= 20% of the full refresh",
    "feature marts vs pandas": ">= 2x faster (at 100k)",
    "feature marts vs polars (lazy, streaming)": "at least as fast (at 1M)",
    "growth 100k -> 1M": "time <= 6x (full refresh), <= 5x (daily refresh)",
}
FULL_MAX_SECONDS = 200
PEAK_MAX_GIB = 6
DAILY_MAX_SECONDS = 60
DAILY_MAX_SHARE = 0.2
PANDAS_MIN_RATIO = 2
POLARS_MIN_RATIO = 1
FULL_MAX_GROWTH = 6
DAILY_MAX_GROWTH = 5


def target_rows(results: list) -> list[tuple[str, str, str, bool]]:
    """(target, goal, measured, met) for each target the results can judge: the refresh
    targets at the largest scale measured, pandas at the smallest it finished at, growth from
    the smallest to the largest scale."""
    large = results[-1]
    rows = [
        (
            f"full refresh ({large.customers:,})",
            f"<= {FULL_MAX_SECONDS} s",
            f"{large.total_seconds:.0f} s",
            large.total_seconds <= FULL_MAX_SECONDS,
        ),
        (
            f"peak memory ({large.customers:,})",
            f"<= {PEAK_MAX_GIB} GiB",
            f"{large.peak_gib:.1f} GiB",
            large.peak_gib <= PEAK_MAX_GIB,
        ),
    ]
    if large.incremental_seconds is not None:
        daily = _daily_seconds(large)
        share = daily / large.total_seconds
        averaged = " (week average)" if large.anchor_step_seconds is not None else ""
        rows.append(
            (
                f"daily refresh ({large.customers:,}){averaged}",
                f"<= {DAILY_MAX_SECONDS} s and <= {DAILY_MAX_SHARE:.0%} of the full refresh",
                f"{daily:.0f} s = {share:.0%}",
                daily <= DAILY_MAX_SECONDS and share <= DAILY_MAX_SHARE,
            )
        )
    with_pandas = [r for r in results if r.pandas_seconds is not None]
    if with_pandas:
        small = with_pandas[0]
        ratio = small.pandas_seconds / small.ours_feature_seconds
        rows.append(
            (
                f"features vs pandas ({small.customers:,})",
                f">= {PANDAS_MIN_RATIO}x",
                f"{ratio:.1f}x",
                ratio >= PANDAS_MIN_RATIO,
            )
        )
    if getattr(large, "polars_seconds", None) is not None:
        ratio = large.polars_seconds / large.polars_ours_seconds
        rows.append(
            (
                f"features vs polars ({large.customers:,})",
                f">= {POLARS_MIN_RATIO}x",
                f"{ratio:.2f}x",
                ratio >= POLARS_MIN_RATIO,
            )
        )
    if len(results) > 1:
        small = results[0]
        scale = f"{small.customers:,} -> {large.customers:,}"
        growth = large.total_seconds / small.total_seconds
        rows.append(
            (
                f"full refresh growth {scale}",
                f"<= {FULL_MAX_GROWTH}x",
                f"{growth:.1f}x",
                growth <= FULL_MAX_GROWTH,
            )
        )
        if small.incremental_seconds is not None and large.incremental_seconds is not None:
            growth = _daily_seconds(large) / _daily_seconds(small)
            rows.append(
                (
                    f"daily refresh growth {scale}",
                    f"<= {DAILY_MAX_GROWTH}x",
                    f"{growth:.1f}x",
                    growth <= DAILY_MAX_GROWTH,
                )
            )
    return rows


def target_status(results: list) -> list[str]:
    """The targets table of BENCHMARKS.md: each target, its goal, the measured value, met."""
    return [
        f"## Targets at {results[-1].customers:,} customers",
        "",
        "| Target | Goal | Measured | Met |",
        "|---|---|---|---|",
        *[
            f"| {name} | {goal} | {value} | {'yes' if met else '**no**'} |"
            for name, goal, value, met in target_rows(results)
        ],
        "",
    ]


def print_targets(results: list) -> None:
    print("\nTargets:")
    for name, goal, value, met in target_rows(results):
        print(f"  {name:<40} {value:>14}  goal {goal:<48} {'met' if met else 'NOT MET'}")


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


def _daily_seconds(result) -> float:
    """The daily refresh a target judges: the week average when the anchor day was measured."""
    if result.anchor_step_seconds is not None:
        return _week_average(result)
    return result.incremental_seconds


def _week_average(result) -> float:
    """Seconds a day over a week: six plain daily refreshes and the one that moves the anchor."""
    return (6 * result.incremental_seconds + result.anchor_step_seconds) / 7
