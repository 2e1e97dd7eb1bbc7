"""The benchmark: demo data at scale -> full pipeline through Dagster, per stage time and memory.

    python -m bench.run                          # 1M customers
    python -m bench.run --customers 100000 1000000 --write   # both scales, update BENCHMARKS.md

Per scale it prints wall time and peak memory (this process plus dbt) of each stage, the
pandas and the polars (lazy, streaming) references of the RFM + engagement features against
ours (same numbers checked; each in its own process with its own build of ours), a
daily incremental refresh (one new day of orders and events on top of the built warehouse),
and the refresh on the day the historical training cutoffs move (weekly: their snapshots are
rebuilt then, kept on the other days).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.memory import MemorySampler

# Dagster step -> benchmark stage.
STAGES = {
    "raw__customers": "raw load",
    "raw__orders": "raw load",
    "raw__order_items": "raw load",
    "raw__events": "raw load",
    "dbt_models": "dbt feature marts",
    "ml__segment_model": "segmentation",
    "ml__customer_segments": "segmentation",
    "ml__segment_profiles": "segmentation",
    "ml__segment_migrations": "segmentation",
    "ml__recommendation_evaluation": "recommendations",
    "ml__customer_recommendations": "recommendations",
    "ml__segment_cross_sell": "recommendations",
    "ml__churn_model": "churn training",
    "ml__churn_scores": "scoring",
    "privacy__erased_history": "publish",
    "dbt_serving_models": "publish",
    "publish__serving_database": "publish",
    "publish__segment_exports": "export",
}
GIB = 1024**3


@dataclass
class StageResult:
    stage: str
    seconds: float
    peak_gib: float


@dataclass
class RunResult:
    customers: int
    rows: dict[str, int]
    generate_seconds: float
    total_seconds: float
    peak_gib: float
    stages: list[StageResult]
    incremental_seconds: float | None = None
    incremental_stages: list[StageResult] = field(default_factory=list)
    # The refresh whose new days move the training anchor (once a week).
    anchor_step_seconds: float | None = None
    anchor_step_days: int = 0
    anchor_step_stages: list[StageResult] = field(default_factory=list)
    pandas_seconds: float | None = None
    ours_feature_seconds: float | None = None
    features_match: bool | None = None
    pandas_status: str = "skipped"  # skipped / failed (its process died) / done
    # The polars (lazy, streaming) reference, measured with its own build of our features.
    polars_seconds: float | None = None
    polars_ours_seconds: float | None = None
    polars_match: bool | None = None
    polars_status: str = "skipped"
    # Churn/value training per max_rows_per_cutoff (bench.churn_sample).
    training_samples: list[dict] = field(default_factory=list)


def step_windows(run) -> dict[str, tuple[float, float]]:  # run: (result, instance)
    result, instance = run
    starts, windows = {}, {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            windows[entry.step_key] = (starts[entry.step_key], entry.timestamp)
    return windows


def stage_results(run, sampler: MemorySampler) -> list[StageResult]:
    grouped: dict[str, list[tuple[float, float]]] = {}
    for step, window in step_windows(run).items():
        grouped.setdefault(STAGES.get(step, step), []).append(window)
    out = []
    for stage, windows in grouped.items():
        seconds = sum(end - start for start, end in windows)
        peak = max(sampler.peak_between(start, end) for start, end in windows)
        out.append(StageResult(stage, round(seconds, 2), round(peak / GIB, 2)))
    order = list(dict.fromkeys(STAGES.values()))
    return sorted(out, key=lambda s: order.index(s.stage) if s.stage in order else 99)


def run_refresh(landing: Path, warehouse: Path):  # -> (ExecuteInProcessResult, instance)
    from dagster import DagsterInstance

    from orchestration.definitions import build_definitions
    from orchestration.defs.automation import REFRESH_JOB_NAME
    from orchestration.settings import Settings

    root = warehouse.parent
    settings = Settings(
        landing_dir=landing,
        warehouse_path=warehouse,
        as_of=None,
        churn_horizon_days=90,
        model_dir=root / "models",
        report_dir=root / "reports",
        serving_path=root / "serving.duckdb",
        export_dir=root / "exports",
        privacy_dir=root / "privacy",
    )
    job = build_definitions(settings).resolve_job_def(REFRESH_JOB_NAME)
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    instance = DagsterInstance.ephemeral()
    result = job.execute_in_process(instance=instance, run_config=run_config)
    return result, instance


def benchmark(
    customers: int,
    workdir: Path,
    pandas_reference: bool,
    incremental: bool,
    sample_caps: list[int],
    polars_reference: bool = True,
) -> RunResult:
    from demo_data import generate, write_dataset

    landing, warehouse = workdir / "landing", workdir / "warehouse.duckdb"
    started = time.perf_counter()
    dataset = generate(n_customers=customers, seed=42)
    written = write_dataset(dataset, landing, workdir / "truth", "parquet")
    del dataset
    generate_seconds = time.perf_counter() - started
    print(f"[{customers:,}] demo data: {written.row_counts} in {generate_seconds:.1f}s", flush=True)

    with MemorySampler() as sampler:
        started = time.perf_counter()
        result = run_refresh(landing, warehouse)
        total = time.perf_counter() - started
    stages = stage_results(result, sampler)
    outcome = RunResult(
        customers=customers,
        rows=written.row_counts,
        generate_seconds=round(generate_seconds, 1),
        total_seconds=round(total, 1),
        peak_gib=round(sampler.peak / GIB, 2),
        stages=stages,
    )
    print_stages(f"[{customers:,}] full refresh", total, sampler.peak, stages)

    if pandas_reference:
        comparison = compare_in_child(landing, warehouse, workdir / "features_only")
        outcome.pandas_status = "failed" if comparison is None else "done"
    if pandas_reference and comparison is not None:
        outcome.pandas_seconds = comparison.pandas_seconds
        outcome.ours_feature_seconds = comparison.ours_seconds
        outcome.features_match = comparison.match
        print(
            f"[{customers:,}] features: pandas {comparison.pandas_seconds:.1f}s, ours "
            f"{comparison.ours_seconds:.1f}s -> ratio {comparison.ratio:.1f}x "
            f"(same numbers: {comparison.match}; {comparison.detail})",
            flush=True,
        )

    if polars_reference:
        polars = compare_in_child(
            landing, warehouse, workdir / "features_polars", reference="polars"
        )
        outcome.polars_status = "failed" if polars is None else "done"
        if polars is not None:
            outcome.polars_seconds = polars.polars_seconds
            outcome.polars_ours_seconds = polars.ours_seconds
            outcome.polars_match = polars.match
            print(
                f"[{customers:,}] features: polars {polars.polars_seconds:.1f}s, ours "
                f"{polars.ours_seconds:.1f}s -> ratio {polars.ratio:.2f}x "
                f"(same numbers: {polars.match}; {polars.detail})",
                flush=True,
            )

    if incremental:
        from bench.incremental import add_one_day

        add_one_day(landing, seed=7)
        with MemorySampler() as sampler:
            started = time.perf_counter()
            again = run_refresh(landing, warehouse)
            seconds = time.perf_counter() - started
        outcome.incremental_seconds = round(seconds, 1)
        outcome.incremental_stages = stage_results(again, sampler)
        print_stages(
            f"[{customers:,}] daily incremental refresh",
            seconds,
            sampler.peak,
            outcome.incremental_stages,
        )
        print(f"[{customers:,}] incremental / full = {seconds / total:.0%}", flush=True)

        from bench.incremental import add_days_until_the_anchor_moves

        days = add_days_until_the_anchor_moves(landing, seed=8)
        with MemorySampler() as sampler:
            started = time.perf_counter()
            weekly = run_refresh(landing, warehouse)
            seconds = time.perf_counter() - started
        outcome.anchor_step_seconds = round(seconds, 1)
        outcome.anchor_step_days = len(days)
        outcome.anchor_step_stages = stage_results(weekly, sampler)
        print_stages(
            f"[{customers:,}] refresh of {len(days)} new days that move the training anchor",
            seconds,
            sampler.peak,
            outcome.anchor_step_stages,
        )

    if sample_caps:
        from bench.churn_sample import measure

        print(f"[{customers:,}] churn/value training by rows sampled per cutoff:", flush=True)
        outcome.training_samples = [asdict(r) for r in measure(warehouse, sample_caps)]
    return outcome


def compare_in_child(landing: Path, warehouse: Path, workdir: Path, reference: str = "pandas"):
    """A reference (pandas or polars) in a child process: if it runs out of memory (a notebook
    on a large data set may), the benchmark goes on without it. Returns None then."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from bench import pandas_reference, polars_reference

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        try:
            if reference == "polars":
                return pool.submit(polars_reference.compare_with_marts, landing, workdir).result()
            return pool.submit(
                pandas_reference.compare_with_marts, landing, warehouse, workdir
            ).result()
        except (BrokenProcessPool, MemoryError) as exc:
            print(f"{reference} reference failed ({type(exc).__name__}): no ratio", flush=True)
            return None


def print_stages(title: str, total: float, peak: int, stages: list[StageResult]) -> None:
    print(f"\n{title}: {total:.1f}s, peak {peak / GIB:.2f} GiB", flush=True)
    for stage in stages:
        print(f"  {stage.stage:<20} {stage.seconds:>8.1f}s  peak {stage.peak_gib:>5.2f} GiB")


def machine() -> dict[str, str]:
    from importlib.metadata import version

    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "cpu_cores": str(os.cpu_count()),
        "memory_gib": f"{memory:.0f}",
        "python": platform.python_version(),
        **{
            pkg: version(pkg)
            for pkg in ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "scikit-learn", "pandas")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp folder)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas reference")
    parser.add_argument("--no-polars", action="store_true", help="skip the polars reference")
    parser.add_argument("--no-incremental", action="store_true", help="skip the incremental run")
    parser.add_argument(
        "--sample-caps",
        type=int,
        nargs="*",
        default=[5_000, 20_000, 50_000],
        help="max_rows_per_cutoff values whose training time and quality are measured",
    )
    parser.add_argument("--write", action="store_true", help="write the results to BENCHMARKS.md")
    args = parser.parse_args()

    results = []
    for customers in args.customers:
        base = args.workdir or Path(tempfile.mkdtemp(prefix="insights-bench-"))
        workdir = base / f"customers-{customers}"
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        try:
            results.append(
                benchmark(
                    customers,
                    workdir,
                    not args.no_pandas,
                    not args.no_incremental,
                    args.sample_caps,
                    not args.no_polars,
                )
            )
        finally:
            if not args.workdir:
                shutil.rmtree(base, ignore_errors=True)
    if len(results) > 1:
        print_growth(results)
    if results:
        from bench.report import print_targets

        print_targets(results)
    info = machine()
    print("\n" + json.dumps({"machine": info, "results": [asdict(r) for r in results]}, indent=2))
    if args.write:
        from bench.report import write_benchmarks

        path = write_benchmarks(Path(__file__).parents[1] / "BENCHMARKS.md", info, results)
        print(f"\nwrote {path}")


def print_growth(results: list[RunResult]) -> None:
    small, large = results[0], results[-1]
    scale = large.customers / small.customers
    print(f"\nGrowth from {small.customers:,} to {large.customers:,} customers ({scale:.0f}x):")
    print(
        f"  time   {small.total_seconds:.1f}s -> {large.total_seconds:.1f}s "
        f"({large.total_seconds / small.total_seconds:.1f}x)"
    )
    print(
        f"  memory {small.peak_gib:.2f} -> {large.peak_gib:.2f} GiB "
        f"({large.peak_gib / max(small.peak_gib, 0.01):.1f}x)"
    )


if __name__ == "__main__":
    main()
