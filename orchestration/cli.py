"""`insights`: headless entry points (demo data, a refresh through Dagster, erasure, a summary,
read-only SQL on the serving database)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path

from orchestration.run_report import StepProgress, log_to_file
from orchestration.settings import (
    Settings,
    SettingsError,
    alert_webhook_url,
    from_env,
    parse_as_of,
    parse_horizon,
)
from orchestration.summary import location_lines, result_lines

# Copied to a new DAGSTER_HOME (run queue, one writer on the warehouse; see the file).
DAGSTER_YAML_TEMPLATE = Path(__file__).with_name("dagster.yaml")
# The code location `make ui` serves; CLI runs are recorded under it (see record_under_location).
WORKSPACE_YAML = Path(__file__).resolve().parent.parent / "workspace.yaml"


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

    demo = sub.add_parser(
        "demo-data",
        help="write the built-in demo data set as landing files",
        description="Write a deterministic demo data set (customers, orders, order lines, "
        "events with planted personas, seasonality and churn) into the landing folder, and its "
        "ground truth beside it for the tests. Refuses to overwrite files it did not write.",
    )
    demo.add_argument("--customers", type=int, default=5000, help="number of customers (5000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (42)")
    demo.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="file format (csv)"
    )
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
    demo.add_argument(
        "--landing-dir", type=Path, help="where to write (default: INSIGHTS_LANDING_DIR)"
    )
    demo.add_argument(
        "--start-date",
        type=date.fromisoformat,
        help="first day of the history, YYYY-MM-DD (default 2023-01-01): any era, e.g. 1996-01-01",
    )
    demo.add_argument(
        "--end-date",
        type=date.fromisoformat,
        help="last day with data (default: three years after the start, 2025-12-31)",
    )
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

    run = sub.add_parser(
        "run",
        help="materialise every asset through Dagster, then summarise",
        description="Run the daily refresh job through Dagster in this process (recorded in "
        "DAGSTER_HOME): load the landing files, build the dbt models, segment, score, publish "
        "the serving database and the exports. Prints one line per step and a summary; the "
        "complete dbt and Dagster log goes to logs/<run id>.log beside the warehouse.",
    )
    run.add_argument("--as-of", help="YYYY-MM-DD (default: INSIGHTS_AS_OF or latest data + 1 day)")
    run.add_argument("--horizon", help="churn horizon days (default: INSIGHTS_CHURN_HORIZON_DAYS)")
    run.add_argument(
        "--select",
        metavar="SELECTION",
        help="only these assets, in Dagster's selection syntax, e.g. 'key:\"ml/*\"', "
        "'+key:\"analytics/customer_360\"' (with its upstream), 'group:segmentation'; "
        "upstream tables are read as they are",
    )
    run.add_argument(
        "--accept-drop",
        action="store_true",
        help="publish although a metric fell by more than the publish gate allows since the "
        "last publish (a real drop, e.g. a backfill as of an earlier date)",
    )
    run.set_defaults(handler=_run)

    forget = sub.add_parser(
        "forget",
        help="right to erasure: remove customers from the next refresh on",
        description="Add customers to the suppression list (salted hashes in "
        "INSIGHTS_PRIVACY_DIR). The next refresh removes them from the warehouse, the serving "
        "database and every export, and keeps re-ingested rows out.",
    )
    forget.add_argument(
        "customer_ids",
        nargs="+",
        metavar="CUSTOMER_ID",
        help="customer ids as in the landing files",
    )
    forget.set_defaults(handler=_forget)

    inspect = sub.add_parser(
        "inspect",
        help="check the landing files against the contract and mapping.yaml without building "
        "anything; suggest a mapping.yaml when they do not fit",
        description="Read the landing folder with its mapping.yaml in seconds, without building "
        "anything, and print per entity: files, detected layout, the first rows as typed by the "
        "contract, the date range, rows that would be quarantined by reason, and a suggested "
        "mapping.yaml when the files do not fit. Exit 0 when everything fits, 1 otherwise.",
    )
    inspect.add_argument("--landing-dir", type=Path, help="default: INSIGHTS_LANDING_DIR")
    inspect.add_argument(
        "--write-mapping",
        action="store_true",
        help="write the suggested mapping.yaml into the landing folder",
    )
    inspect.add_argument(
        "--force", action="store_true", help="with --write-mapping: replace an existing one"
    )
    inspect.set_defaults(handler=_inspect)

    summary = sub.add_parser(
        "summary",
        help="as-of date, last refresh and publish, results, quarantine, where things are",
        description="Summarise the last refresh: as-of date, last refresh (Dagster run "
        "history) and last publish (analytics.publish_log), customers, segments, churn risk, "
        "the top cross-sell, quarantined rows and where the outputs are.",
    )
    summary.add_argument(
        "--tables", action="store_true", help="also list every output table with its row count"
    )
    summary.set_defaults(handler=_summary)

    sql = sub.add_parser(
        "sql",
        help="run a read-only SQL query on the serving database and print a table",
        description="Run one SQL query on the serving database (INSIGHTS_SERVING_PATH) opened "
        "read-only, as a BI tool would, and print the result as a table. The tables are in "
        'schema analytics, e.g. insights sql "select * from analytics.segment_summary".',
    )
    sql.add_argument("query", help="the SQL query (one statement)")
    sql.add_argument("--max-rows", type=int, default=50, help="print at most this many rows (50)")
    sql.set_defaults(handler=_sql)
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
        else:
            dataset = generate(n_customers=args.customers, seed=args.seed, **demo_period(args))
            if args.shape == "transactions":
                written = write_transactions_export(dataset, landing, truth, force=args.force)
            else:
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


def demo_period(args: argparse.Namespace) -> dict[str, date]:
    """generate()'s start/end: the default three years, moved to --start-date if given."""
    from demo_data.generator import DEFAULT_END, DEFAULT_START

    start = args.start_date or DEFAULT_START
    end = args.end_date or start + (DEFAULT_END - DEFAULT_START)
    return {"start": start, "end": end}


def _run(args: argparse.Namespace) -> int:
    settings = from_env()
    alert_webhook_url()  # fail at start-up, not when the first alert is due
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
    from orchestration.refresh_lock import RefreshRunningError, refresh_lock

    settings = replace(settings, as_of=as_of, churn_horizon_days=horizon)
    run_id = str(uuid.uuid4())  # Dagster run ids are UUID4 strings
    log_path = settings.warehouse_path.parent / "logs" / f"{run_id}.log"
    started = time.perf_counter()
    try:
        # Held for the whole run (the run's warehouse resource takes it again, same run id):
        # a second refresh of this warehouse fails here at once instead of mixing results.
        with refresh_lock(settings.warehouse_path, run_id) as note:
            if note:
                print(f"insights run: {note}")
            print(
                f"Refreshing from {settings.landing_dir} (run {run_id[:8]}; full log: {log_path})"
            )
            with log_to_file(log_path) as (out, err):
                progress = StepProgress(None, out, err, live=out.isatty())
                result = execute_refresh(
                    settings,
                    args.select,
                    run_id=run_id,
                    progress=progress,
                    accept_drop=args.accept_drop,
                )
    except RefreshRunningError as exc:
        print(f"insights run: {exc}", file=sys.stderr)
        return 3
    seconds = time.perf_counter() - started
    if not result.success:
        print(f"\nRefresh FAILED after {seconds:.1f}s:", file=sys.stderr)
        for step, message in failure_messages(result):
            print(f"  {step}: {message}", file=sys.stderr)
        print(f"Full log: {log_path}", file=sys.stderr)
        return 1
    print(f"\nRefresh succeeded in {seconds:.1f}s (run {result.run_id}).")
    for line in (*result_lines(settings), "", *location_lines(settings, log_path)):
        print(line)
    return 0


def execute_refresh(
    settings: Settings,
    select: str | None = None,
    run_id: str | None = None,
    progress: StepProgress | None = None,
    accept_drop: bool = False,
):  # -> ExecuteInProcessResult
    """Run the daily refresh job (or the assets of a Dagster selection string) in this process,
    recorded in DAGSTER_HOME when it is set. `progress` sees every event as it happens;
    accept_drop lets a drop beyond the publish gate through for this run."""
    prepare_dbt_manifest()
    from dagster import AssetSelection

    from orchestration.definitions import build_definitions
    from orchestration.defs.automation import REFRESH_JOB_NAME

    # The console log goes wherever sys.stderr points (the run log file for `insights run`).
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
    if accept_drop:
        run_config["resources"] = {"publish_gate": {"config": {"accept_drop": True}}}
    instance = _instance()
    record_under_location(instance, REFRESH_JOB_NAME)
    definitions = build_definitions(settings)
    job = definitions.resolve_job_def(REFRESH_JOB_NAME)
    keys = None
    if select:
        try:
            keys = AssetSelection.from_string(select).resolve(definitions.resolve_asset_graph())
        except Exception as exc:  # the parser's own errors name the bad token
            raise ValueError(f"--select {select!r}: {str(exc).splitlines()[0]}") from exc
        if not keys:
            raise ValueError(f"--select {select!r} matches no asset")
    run_id = run_id or str(uuid.uuid4())
    if progress is not None:
        steps = job.get_subset(asset_selection=set(keys)) if keys else job
        progress.total_steps = len(list(steps.graph.nodes))
        instance.add_event_listener(run_id, progress.handle_entry)
        progress.start()
    try:
        return job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            asset_selection=list(keys) if keys else None,
        )
    finally:
        if progress is not None:
            progress.close()


def _instance():  # -> DagsterInstance
    """The instance in DAGSTER_HOME (created with the shipped settings when the folder is new),
    or an ephemeral one when DAGSTER_HOME is not set."""
    from dagster import DagsterInstance

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.ephemeral()
    Path(home).mkdir(parents=True, exist_ok=True)
    instance_yaml = Path(home) / "dagster.yaml"
    if not instance_yaml.exists():
        shutil.copyfile(DAGSTER_YAML_TEMPLATE, instance_yaml)
    return DagsterInstance.get()


def record_under_location(instance, job_name: str) -> None:  # instance: DagsterInstance
    """Record the runs this instance creates as runs of `job_name` in the workspace's code
    location, as the UI and the daemon record theirs.

    The run still executes in this process (quiet output, the run log, the refresh lock), but
    `execute_in_process` stores no code location origin, and the UI's Overview timeline leaves
    out every run without one. The daemon's run queue is not used: it needs `make ui` running.
    """
    if not WORKSPACE_YAML.exists():  # installed without the repository: nothing to point at
        return
    from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
    from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    [location] = WorkspaceFileTarget([str(WORKSPACE_YAML)]).create_origins()
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME), job_name)
    create_run_for_job = instance.create_run_for_job
    # execute_in_process creates its run through this method and offers no origin argument.
    instance.create_run_for_job = partial(create_run_for_job, remote_job_origin=origin)


def prepare_dbt_manifest() -> None:
    """Parse the dbt project once when no manifest exists (a fresh clone)."""
    from orchestration.project import dbt_project

    if not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)


def failure_messages(result) -> list[tuple[str, str]]:
    from orchestration.defs.automation import error_summary

    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.user_failure_data
            description = error.description if error and error.description else None
            if description is None and event.step_failure_data.error is not None:
                description = _error_summary(event.step_failure_data.error)
            messages.append((event.step_key or "run", description or "failed"))
        elif event.is_run_failure and not messages:
            # Failed before any step (e.g. another refresh holds the lock): the run's error.
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                messages.append(("run", error_summary(error)))
    return messages


def _inspect(args: argparse.Namespace) -> int:
    """Exit 0 when every file fits, 1 when something would fail or be quarantined."""
    from ingest.inspect import inspect_landing, render, write_mapping

    settings = from_env()
    landing = (args.landing_dir or settings.landing_dir).resolve()
    inspection = inspect_landing(landing, settings.min_valid_date)
    print(render(inspection))
    if args.write_mapping:
        try:
            written = write_mapping(inspection, force=args.force)
        except FileExistsError as exc:
            print(f"insights inspect: {exc}", file=sys.stderr)
            return 2
        print(f"\nWrote {written}" if written else "\nNo mapping.yaml needed: nothing written.")
    fits = not inspection.needs_new_mapping and not any(
        e.error or e.rows_quarantined for e in inspection.entities
    )
    return 0 if fits else 1


def _error_summary(error) -> str:  # error: dagster SerializableErrorInfo
    """The step's error and what caused it ("Error occurred while executing op ...:" alone
    hides the cause, e.g. "ValueError: Input X contains infinity")."""
    lines = []
    while error is not None:
        text = error.message.strip()
        if text:
            lines.append(text.splitlines()[-1])
        error = error.cause or error.context
    if not lines:
        return "failed"
    return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"


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
    from orchestration.summary import last_publish_line, output_table_counts

    settings = from_env()
    if not settings.warehouse_path.exists():
        print(f"No warehouse at {settings.warehouse_path}; run `insights run` first.")
        return 1
    print(_last_refresh_line(settings))
    print(last_publish_line(settings.serving_path))
    for line in result_lines(settings):
        print(line)
    if args.tables:
        print("\nOutput tables (rows):")
        for table, rows in output_table_counts(settings.warehouse_path):
            print(f"  {table:<42} {rows:>10,}")
    print()
    for line in location_lines(settings):
        print(line)
    return 0


def _last_refresh_line(settings: Settings) -> str:
    """The newest refresh run in DAGSTER_HOME; without run history, when the warehouse changed."""
    home = os.environ.get("DAGSTER_HOME")
    if home and (Path(home) / "dagster.yaml").exists():
        from dagster import DagsterInstance, RunsFilter

        from orchestration.defs.automation import REFRESH_JOB_NAME

        with DagsterInstance.get() as instance:
            records = instance.get_run_records(RunsFilter(job_name=REFRESH_JOB_NAME), limit=1)
        if records:
            record = records[0]
            when = record.end_time or record.start_time or record.create_timestamp.timestamp()
            return (
                f"Last refresh: {_utc(when)} UTC, {record.dagster_run.status.value.lower()} "
                f"(run {record.dagster_run.run_id[:8]}, history in {home})"
            )
    changed = settings.warehouse_path.stat().st_mtime
    return f"Last refresh: warehouse last written {_utc(changed)} UTC (no Dagster run history)"


def _utc(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    serving = from_env().serving_path
    if not serving.exists():
        print(
            f"insights sql: no serving database at {serving}; run `insights run` first.",
            file=sys.stderr,
        )
        return 1
    con = duckdb.connect(str(serving), read_only=True)
    try:
        cursor = con.execute(args.query)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(args.max_rows + 1)
    except duckdb.Error as exc:
        print(f"insights sql: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    if not columns:
        print("(no result)")
        return 0
    for line in format_table(columns, rows[: args.max_rows]):
        print(line)
    more = " or more" if len(rows) > args.max_rows else ""
    print(f"({min(len(rows), args.max_rows)}{more} rows)")
    return 0


def format_table(columns: Sequence[str], rows: Sequence[Sequence[object]], width: int = 40):
    """A plain text table: numbers right-aligned, long values cut at `width` characters."""
    cells = [[_cell(value, width) for value in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in rows) and bool(rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    yield line(columns)
    yield "  ".join("-" * w for w in widths)
    for row in cells:
        yield line(row)


def _cell(value: object, width: int) -> str:
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__ == "__main__":
    raise SystemExit(main())
