"""`insights`: headless entry points (demo data, a full refresh through Dagster, a summary)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from orchestration.settings import Settings, SettingsError, from_env, parse_as_of, parse_horizon


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (SettingsError, ValueError, FileNotFoundError) as exc:
        print(f"insights: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="insights", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = sub.add_parser("demo-data", help="write the built-in demo data set as landing files")
    demo.add_argument("--customers", type=int, default=5000, help="number of customers (5000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (42)")
    demo.add_argument("--format", choices=("csv", "parquet"), default="csv")
    demo.add_argument(
        "--shape",
        choices=("contract", "transactions", "btyd"),
        default="contract",
        help="contract: customers/orders/order_items/events files; transactions: one "
        "transactions export (customer;date;number_of_items;value) plus a mapping.yaml; btyd: "
        "orders only, simulated from a Pareto/NBD process (78 weeks; truth in demo_truth/)",
    )
    demo.add_argument(
        "--cohorts",
        choices=("one", "many"),
        default="one",
        help="btyd shape: one acquisition cohort over 12 weeks, or acquisition spread over the "
        "history (one)",
    )
    demo.add_argument("--landing-dir", type=Path, help="default: INSIGHTS_LANDING_DIR")
    demo.add_argument(
        "--truth-dir", type=Path, help="ground truth for tests (default: <landing>/../demo_truth)"
    )
    demo.add_argument("--force", action="store_true", help="replace a folder it did not write")
    demo.add_argument(
        "--keep-user-data",
        action="store_true",
        help="if the landing folder holds files the generator did not write, keep them and exit 0",
    )
    demo.set_defaults(handler=_demo_data)

    run = sub.add_parser("run", help="materialise every asset through Dagster, then summarise")
    run.add_argument("--as-of", help="YYYY-MM-DD (default: INSIGHTS_AS_OF or latest data + 1 day)")
    run.add_argument("--horizon", help="churn horizon days (default: INSIGHTS_CHURN_HORIZON_DAYS)")
    run.set_defaults(handler=_run)

    forget = sub.add_parser(
        "forget", help="right to erasure: remove customers from the next refresh on"
    )
    forget.add_argument("customer_ids", nargs="+", metavar="CUSTOMER_ID")
    forget.set_defaults(handler=_forget)

    summary = sub.add_parser("summary", help="print row counts of the warehouse's output tables")
    summary.set_defaults(handler=_summary)
    return parser


def _demo_data(args: argparse.Namespace) -> int:
    from demo_data import LandingNotEmptyError, generate, write_dataset
    from demo_data.btyd import generate_btyd, write_btyd
    from demo_data.transactions import write_transactions_export

    settings = from_env()
    landing = (args.landing_dir or settings.landing_dir).resolve()
    truth = (args.truth_dir or landing.parent / "demo_truth").resolve()
    started = time.perf_counter()
    try:
        if args.shape == "btyd":
            btyd = generate_btyd(args.customers, seed=args.seed, cohorts=args.cohorts)
            written = write_btyd(btyd, landing, truth, force=args.force)
        elif args.shape == "transactions":
            dataset = generate(n_customers=args.customers, seed=args.seed)
            written = write_transactions_export(dataset, landing, truth, force=args.force)
        else:
            dataset = generate(n_customers=args.customers, seed=args.seed)
            written = write_dataset(dataset, landing, truth, args.format, force=args.force)
    except LandingNotEmptyError as exc:
        if args.keep_user_data:
            print(f"Keeping your landing files in {landing} (no demo data written).")
            return 0
        print(f"insights demo-data: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    print(f"Demo data ({args.customers} customers, seed {args.seed}) in {seconds:.1f}s")
    for entity, rows in written.row_counts.items():
        print(f"  {entity:<12} {rows:>10,} rows")
    print(f"  landing files: {written.landing_dir}")
    print(f"  ground truth:  {written.truth_dir} (read by tests only)")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = from_env()
    as_of = parse_as_of(args.as_of, "--as-of") if args.as_of else settings.as_of
    horizon = (
        parse_horizon(args.horizon, "--horizon") if args.horizon else settings.churn_horizon_days
    )
    if not settings.landing_dir.exists():
        print(
            f"insights run: landing folder {settings.landing_dir} does not exist; run "
            "`insights demo-data` or set INSIGHTS_LANDING_DIR",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    result = execute_refresh(replace(settings, as_of=as_of, churn_horizon_days=horizon))
    seconds = time.perf_counter() - started
    if not result.success:
        print(f"\nRefresh FAILED after {seconds:.1f}s:", file=sys.stderr)
        for step, message in failure_messages(result):
            print(f"  {step}: {message}", file=sys.stderr)
        return 1
    print(f"\nRefresh succeeded in {seconds:.1f}s (run {result.run_id}).")
    _print_summary(settings)
    return 0


def execute_refresh(settings: Settings):  # -> ExecuteInProcessResult
    """Run the daily refresh job in this process, recorded in DAGSTER_HOME when it is set."""
    prepare_dbt_manifest()
    from dagster import DagsterInstance

    from orchestration.definitions import build_definitions
    from orchestration.defs.automation import REFRESH_JOB_NAME

    # Step-level progress and warnings; the full event log is in the Dagster UI.
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    instance = (
        DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    )
    job = build_definitions(settings).resolve_job_def(REFRESH_JOB_NAME)
    return job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)


def prepare_dbt_manifest() -> None:
    """Parse the dbt project once when no manifest exists (a fresh clone)."""
    from orchestration.project import dbt_project

    if not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)


def failure_messages(result) -> list[tuple[str, str]]:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.user_failure_data
            description = error.description if error and error.description else None
            if description is None and event.step_failure_data.error is not None:
                description = event.step_failure_data.error.message.strip().splitlines()[-1]
            messages.append((event.step_key or "run", description or "failed"))
    return messages


def _forget(args: argparse.Namespace) -> int:
    from privacy.suppression import SuppressionList

    settings = from_env()
    suppression = SuppressionList(settings.privacy_dir)
    new = suppression.forget(args.customer_ids, source="insights forget")
    print(
        f"{len(new)} customer(s) added to the suppression list in {settings.privacy_dir} "
        f"({len(args.customer_ids) - len(new)} already there). The next `insights run` removes "
        "them from the warehouse, the serving database and every export; re-ingested rows stay out."
    )
    return 0


def _summary(args: argparse.Namespace) -> int:
    return 0 if _print_summary(from_env()) else 1


def _print_summary(settings: Settings) -> bool:
    from orchestration.summary import output_table_counts

    if not settings.warehouse_path.exists():
        print(f"No warehouse at {settings.warehouse_path}; run `insights run` first.")
        return False
    counts = output_table_counts(settings.warehouse_path)
    print("\nOutput tables (rows):")
    for table, rows in counts:
        print(f"  {table:<42} {rows:>10,}")
    print("\nFiles:")
    print(f"  landing files  {settings.landing_dir}")
    print(f"  warehouse      {settings.warehouse_path}")
    dagster_home = os.environ.get("DAGSTER_HOME")
    if dagster_home:
        print(f"  Dagster runs   {dagster_home}")
    print("\nOpen the Dagster UI over the same warehouse: `make ui`, then http://127.0.0.1:3000")
    print(
        "Query it read-only from any DuckDB client, e.g. "
        f"duckdb.connect('{settings.warehouse_path}', read_only=True)"
    )
    return True


if __name__ == "__main__":
    raise SystemExit(main())
