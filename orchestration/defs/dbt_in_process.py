"""dbt run in this process (dbt-core's dbtRunner) for a dbt asset step, with the Dagster events
dagster-dbt's CLI resource would give.

dbt-spark's `method: session` works only inside the process that holds the SparkSession, so on
the Spark engine the dbt steps cannot use dagster-dbt's DbtCliResource (a subprocess). This
object offers the part of DbtCliInvocation the dbt steps use (stream, is_successful, get_error,
target_path, project_dir) and builds its events with dagster-dbt's own code: the dbt selection
of the step from get_updated_cli_invocation_params_for_context, and each structured dbt event
(the same dict as a `--log-format json` line) through DbtCoreCliEventMessage
.to_default_asset_events, so models become materializations and tests asset check results
exactly as on the CLI path.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject
from dagster_dbt.asset_utils import (
    DBT_INDIRECT_SELECTION_ENV,
    extract_runtime_selection_from_args,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

PARTIAL_PARSE_FILE = "partial_parse.msgpack"


@dataclass
class InProcessDbtInvocation:
    """One finished `dbt <args>` run by dbtRunner; events are converted when streamed."""

    command: list[str]
    project_dir: Path
    target_path: Path
    manifest: Mapping[str, Any]
    translator: DagsterDbtTranslator
    context: dg.AssetExecutionContext
    project: DbtProject | None
    success: bool = False
    exception: BaseException | None = None
    # The result events of models, seeds, snapshots and tests, in the order dbt fired them.
    result_events: list[dict[str, Any]] = field(default_factory=list)
    # The `msg` of every error-level event, as DbtCliInvocation collects them from the log.
    error_messages: list[str] = field(default_factory=list)

    @classmethod
    def run(
        cls,
        args: Sequence[str],
        *,
        context: dg.AssetExecutionContext,
        dbt_project: DbtProject,
        target: str,
    ) -> InProcessDbtInvocation:
        """Run `dbt <args> --target <target>` for the step's selected assets and checks (the
        run settings are read from os.environ while it runs, as the CLI would read them)."""
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_dict

        cleaned, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest={},
            dagster_dbt_translator=DagsterDbtTranslator(),
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        project = params.dbt_project or dbt_project
        project_dir = Path(project.project_dir)
        # The same folder name dagster-dbt gives a CLI invocation (prune_dbt_targets reads it),
        # under the shipped project's target folder.
        target_dir = dbt_project.manifest_path.parent
        target_path = target_dir / (
            f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-"
            f"{str(uuid.uuid4())[:7]}"
        )
        target_path.mkdir(parents=True, exist_ok=True)
        # Start from the last parse of this target (see keep_partial_parse below).
        cached = target_dir / partial_parse_cache_name(target)
        if cached.exists():
            shutil.copyfile(cached, target_path / PARTIAL_PARSE_FILE)
        indirect = params.indirect_selection
        command = [
            *cleaned,
            "--target",
            target,
            *params.selection_args,
            *(["--indirect-selection", indirect] if indirect else []),
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(Path(project.profiles_dir or project_dir)),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path),
            "--no-send-anonymous-usage-stats",
        ]
        invocation = cls(
            command=command,
            project_dir=project_dir,
            target_path=target_path,
            manifest=params.manifest,
            translator=params.dagster_dbt_translator,
            context=context,
            project=project,
        )

        def collect(message: Any) -> None:
            level = message.info.level
            name = message.info.name
            if level != "error" and name not in RESULT_EVENTS:
                return
            raw = msg_to_dict(message)
            if level == "error":
                invocation.error_messages.append(raw["info"]["msg"])
            if name in RESULT_EVENTS:
                invocation.result_events.append(raw)

        context.log.info(f"Running dbt in this process: dbt {' '.join(command)}")
        saved_indirect = os.environ.pop(DBT_INDIRECT_SELECTION_ENV, None)
        try:
            result = dbtRunner(callbacks=[collect]).invoke(command)
        finally:
            if saved_indirect is not None:
                os.environ[DBT_INDIRECT_SELECTION_ENV] = saved_indirect
        invocation.success = bool(result.success)
        invocation.exception = result.exception
        keep_partial_parse(target_path, cached)
        return invocation

    def stream(self) -> Iterator[Any]:
        """Outputs for the models and seeds built, AssetCheckResults for the tests run."""
        for raw in self.result_events:
            event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
            yield from event.to_default_asset_events(
                manifest=self.manifest,
                dagster_dbt_translator=self.translator,
                context=self.context,
                target_path=self.target_path,
                project=self.project,
            )

    def is_successful(self) -> bool:
        return self.success and self.exception is None and not self.error_messages

    def get_error(self) -> Exception | None:
        """DbtCliInvocation's error text (the failing models and tests after the heading
        "Errors parsed from dbt logs:"), so the step fails with the same description."""
        if self.is_successful():
            return None
        messages = list(self.error_messages)
        if self.exception is not None:
            messages.append(f"{type(self.exception).__name__}: {self.exception}")
        errors = "\n\n".join(["", "Errors parsed from dbt logs:", *messages]) if messages else ""
        return RuntimeError(
            f"The in-process dbt command\n\n`dbt {' '.join(self.command)}`\n\nfailed. See the "
            f"dbt debug log: {self.target_path / 'dbt.log'}.{errors}"
        )


# dbt's result events of a node (dagster-dbt's DbtCoreCliEventMessage.is_result_event).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


def partial_parse_cache_name(target: str) -> str:
    """The parse state of one dbt target, kept apart from the CLI path's partial_parse.msgpack:
    a parse for another target (profile) makes dbt re-parse the whole project."""
    return f"partial_parse.{target}.msgpack"


def keep_partial_parse(target_path: Path, cached: Path) -> None:
    """Move a dbt run's parse state to `cached` (atomically), where the next run of the same
    target starts from, so it re-parses only what changed since this run."""
    source = target_path / PARTIAL_PARSE_FILE
    if not source.exists():
        return
    temp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    shutil.move(source, temp)
    os.replace(temp, cached)
