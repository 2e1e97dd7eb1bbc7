"""The Dagster UI in a real browser (issue #6).

`dg dev` (as `make ui` runs it) serves a small demo warehouse with a temporary DAGSTER_HOME;
Debian's Chromium,
driven by Playwright, checks what a user sees: the lineage from raw files through staging and
marts to the models (and to publishing once that group exists), a "Materialize all" run that
succeeds, and the metrics table and chart of the ML assets. Screenshots, the server log and the
browser console go to test-artifacts/ui/; the README's pictures (asset lineage, churn model
page, segment map) are regenerated into docs/img/. The UI is stopped as Ctrl-C stops it
(SIGINT to its process group) and nothing it started may survive.

Selectors are URLs (`/asset-groups`, `/assets/<key path>`, `/runs/<id>`), link targets, roles
and visible text, never CSS class names (Dagster generates those per build).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import dagster as dg
import pytest
import yaml
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from orchestration.definitions import defs

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, never a browser downloaded by `playwright install`.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# What `make ui` runs: `dg dev` under the wrapper that bounds Ctrl-C.
DAGSTER_DEV = [sys.executable, "-m", "orchestration.ui_server", "-w", "workspace.yaml"]
README_IMAGES = REPO_ROOT / "docs" / "img"
DEMO_CUSTOMERS = 800
DEMO_SEED = 42
# dg dev starts a webserver, a daemon and a code server: 90 s measured on a busy 2-CPU machine.
SERVER_START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 240
# Ctrl-C must stop webserver, daemon, code server and runs within 10 s, also on a busy machine
# (orchestration/ui_server.py kills what is left after 7 s; dg dev alone took 14-21 s at load 12).
STOP_GRACE_S = 10
UI_TIMEOUT_MS = 30_000

# The layers every lineage check walks through, as asset keys of today's definitions.
LAYER_GROUPS = ("landing", "raw", "staging", "intermediate", "marts")
ML_GROUPS = ("segmentation", "prediction")
PUBLISHING_GROUP = "publishing"  # being added in parallel; checked whenever it exists
CORE_CHAIN = ("raw/orders", "staging/stg_landing__orders", "marts/customer_features")
ML_OUTPUTS = ("ml/customer_segments", "ml/churn_scores")
# ML asset -> (metadata entry with a markdown metrics table, a column of it, entry with a chart)
ML_METADATA = {
    "ml/segment_model": ("metrics_per_k", "silhouette", "selection_chart"),
    "ml/churn_model": ("metrics_vs_baselines", "roc_auc", "roc_curves"),
}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing (apt-get install chromium); .ci/run installs it",
)


# --- The Dagster UI process ---------------------------------------------------------------


@dataclass
class DagsterUI:
    url: str
    root: Path  # temporary folder with the landing files, warehouse and DAGSTER_HOME
    log_path: Path
    env: dict[str, str]  # the environment `dg dev` runs in (DAGSTER_HOME, landing, warehouse)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    """`dagster dev` on a free local port over 800 demo customers; stopped with everything it
    started, even when startup or a test fails."""
    from demo_data import generate, write_dataset

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    root = tmp_path_factory.mktemp("ui")
    landing = root / "landing"
    write_dataset(generate(n_customers=DEMO_CUSTOMERS, seed=DEMO_SEED), landing, root / "truth")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")

    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_")}
    env.update(
        DAGSTER_HOME=str(home),
        INSIGHTS_LANDING_DIR=str(landing),
        INSIGHTS_WAREHOUSE_PATH=str(root / "warehouse.duckdb"),
        # scikit-learn's OpenMP threads spin-wait: on a busy 2-CPU CI machine, gradient
        # boosting took ~10x longer with 2 threads than with 1. One thread keeps the run short.
        OMP_NUM_THREADS="1",
    )
    port = _free_port()
    ui = DagsterUI(
        url=f"http://127.0.0.1:{port}", root=root, log_path=ARTIFACTS / "dagster-dev.log", env=env
    )
    with ui.log_path.open("w") as log:
        server = subprocess.Popen(
            [*DAGSTER_DEV, "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
            preexec_fn=_default_stop_signals,
        )
        try:
            _wait_until_loaded(ui, server)
            yield ui
        finally:
            _stop_process_group(server, marker=str(root))


def _default_stop_signals() -> None:
    # Started from a background job, a process inherits SIGINT as ignored, and Dagster maps
    # SIGTERM onto the SIGINT handler: every Dagster process would then ignore SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LOCATIONS_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def _wait_until_loaded(ui: DagsterUI, server: subprocess.Popen) -> None:
    """Until the webserver answers and the code location has loaded."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    state = "no answer from the webserver"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"dagster dev exited with {server.returncode} during startup; "
                f"log tail ({ui.log_path}):\n{ui.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{ui.url}/server_info", timeout=2):
                pass
            entries = ui.graphql(LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
            continue
        errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
        if errors:
            raise RuntimeError(
                f"code location failed to load: {errors[0]['locationOrLoadError']['message']}"
            )
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            return
        state = f"code locations: {[(e['name'], e['loadStatus']) for e in entries]}"
        time.sleep(0.5)
    raise TimeoutError(
        f"Dagster UI at {ui.url} not ready after {SERVER_START_TIMEOUT_S}s ({state}); "
        f"log tail ({ui.log_path}):\n{ui.log_tail()}"
    )


def _stop_process_group(server: subprocess.Popen, marker: str) -> None:
    """SIGINT the process group, as Ctrl-C in a terminal does; assert that every process of
    the group (or naming the temporary folder) ends within the grace period by itself. What is
    left is killed so the test machine stays clean, and fails the test."""
    group = server.pid  # start_new_session: the group id is the server's pid
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGINT)
    started = time.monotonic()
    deadline = started + STOP_GRACE_S
    while time.monotonic() < deadline and _running(group, marker):
        server.poll()  # reaps dagster dev itself
        time.sleep(0.2)
    leftover = _running(group, marker)
    stop_seconds = time.monotonic() - started
    for pid in leftover:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        server.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(group, marker):
        time.sleep(0.2)
    still_running = _running(group, marker)
    with ARTIFACTS.joinpath("dagster-dev.log").open("a") as log:
        log.write(
            f"\n[test teardown] stopped by SIGINT in {stop_seconds:.1f}s; "
            f"SIGKILL needed for: {leftover or 'nothing'}\n"
        )
    assert not leftover, f"still running {STOP_GRACE_S}s after Ctrl-C (SIGINT): {leftover}"
    assert not still_running, f"processes left running by dg dev: {still_running}"


def _running(group: int, marker: str) -> dict[int, str]:
    """Live (non-zombie) processes in the group or whose command line or environment names
    `marker` (`dg dev` runs in a process group of its own, with DAGSTER_HOME under it)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environment = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:  # exited meanwhile, or not ours
            continue
        state, _parent, process_group = stat.rsplit(")", 1)[1].split()[:3]
        if state in "ZX":
            continue
        if int(process_group) == group or marker in cmdline or marker in environment:
            found[int(proc.name)] = cmdline[:120]
    return found


# --- The browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, dagster_ui: DagsterUI, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(base_url=dagster_ui.url, viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    console = ARTIFACTS / f"browser-console-{request.node.name}.log"
    page.on("console", lambda m: _append(console, f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: _append(console, f"pageerror: {e}"))
    # The first visit to a fresh DAGSTER_HOME may show a community/newsletter pop-up.
    page.add_locator_handler(
        page.get_by_text("Join the Dagster community"),
        lambda _popup: page.get_by_role("button", name="Skip").click(),
    )
    try:
        yield page
    finally:
        context.close()


def _append(path: Path, line: str) -> None:
    with path.open("a") as file:
        file.write(line + "\n")


def screenshot(page: Page, name: str, readme_image: str | None = None) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", animations="disabled")
    if readme_image:
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=README_IMAGES / readme_image, animations="disabled")


@contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        with suppress(Exception):
            screenshot(page, f"FAILED-{name}")
        raise


# --- What the definitions say the UI must show ----------------------------------------------


def asset_path(key: str) -> str:
    return f"/assets/{key}"


def _graph():
    return defs.resolve_asset_graph()


def _key(user_string: str) -> dg.AssetKey:
    return dg.AssetKey.from_user_string(user_string)


def shortest_path(start: str, end: str) -> list[str]:
    """Asset keys from `start` down to `end` in the definitions (ties broken by name)."""
    graph = _graph()
    previous: dict[dg.AssetKey, dg.AssetKey | None] = {_key(start): None}
    queue = deque([_key(start)])
    while queue and _key(end) not in previous:
        key = queue.popleft()
        for child in sorted(graph.get(key).child_keys, key=dg.AssetKey.to_user_string):
            if child not in previous:
                previous[child] = key
                queue.append(child)
    assert _key(end) in previous, f"{end} is not downstream of {start} in the definitions"
    path = [_key(end)]
    while (parent := previous[path[-1]]) is not None:
        path.append(parent)
    return [key.to_user_string() for key in reversed(path)]


def lineage_chains() -> list[list[str]]:
    """raw -> staging -> marts -> each ML output, and on to every publishing asset that is
    downstream of an ML output (the publishing group joins automatically once it exists)."""
    graph = _graph()
    waypoint_lists = [[*CORE_CHAIN, output] for output in ML_OUTPUTS]
    for key in sorted(graph.asset_keys_for_group(PUBLISHING_GROUP), key=dg.AssetKey.to_user_string):
        ancestors = {k.to_user_string() for k in graph.get_ancestor_asset_keys(key)}
        ml_inputs = [output for output in ML_OUTPUTS if output in ancestors]
        if ml_inputs:
            waypoint_lists.append([*CORE_CHAIN, ml_inputs[0], key.to_user_string()])
    chains = []
    for waypoints in waypoint_lists:
        chain = [waypoints[0]]
        for start, end in pairwise(waypoints):
            chain += shortest_path(start, end)[1:]
        chains.append(chain)
    return chains


# --- The tests ----------------------------------------------------------------------------


def test_asset_graph_shows_the_lineage_from_raw_to_models(page: Page) -> None:
    graph = _graph()
    groups = sorted({graph.get(key).group_name for key in graph.get_all_asset_keys()})
    missing = set(LAYER_GROUPS + ML_GROUPS) - set(groups)
    assert not missing, f"the definitions lost the groups {missing}"

    with screenshot_on_failure(page, "asset-graph"):
        page.goto("/asset-groups")
        viewport = page.locator("[data-svg-viewport]")  # the graph canvas, not the sidebar
        for group in groups:  # includes "publishing" as soon as it is defined
            expect(viewport.get_by_text(group, exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
        screenshot(page, "01-asset-graph", readme_image="asset-lineage.png")

        # Follow each chain downstream on the asset pages: the page of every asset links its
        # next asset under "Downstream assets", and that page links back under "Upstream".
        checked: set[tuple[str, str]] = set()
        for chain in lineage_chains():
            for upstream, downstream in pairwise(chain):
                if (upstream, downstream) in checked:
                    continue
                if not page.url.endswith(asset_path(upstream)):
                    page.goto(asset_path(upstream))
                page.locator(f'a[href="{asset_path(downstream)}"]').click()
                expect(page).to_have_url(
                    re.compile(re.escape(asset_path(downstream)) + "$"), timeout=UI_TIMEOUT_MS
                )
                expect(page.locator(f'a[href="{asset_path(upstream)}"]')).to_be_visible(
                    timeout=UI_TIMEOUT_MS
                )
                checked.add((upstream, downstream))

            # The end's upstream graph, for the screenshot. The link walk above already proved
            # the lineage; a long chain's graph is larger than the window and the canvas draws
            # only the groups in view, so it must show some of the chain's groups, not all.
            end = chain[-1]
            page.goto(
                f"{asset_path(end)}?view=lineage&lineageScope=upstream&lineageDepth={len(chain)}"
            )
            groups_of_chain = sorted({graph.get(_key(key)).group_name for key in chain})
            pattern = re.compile("^(" + "|".join(map(re.escape, groups_of_chain)) + ")$")
            expect(viewport.get_by_text(pattern).first).to_be_visible(timeout=UI_TIMEOUT_MS)
            screenshot(page, f"02-upstream-of-{end.replace('/', '__')}")


def test_materialize_all_succeeds_and_shows_ml_metadata(page: Page, dagster_ui: DagsterUI) -> None:
    expected_assets = len(_graph().materializable_asset_keys)

    with screenshot_on_failure(page, "materialize-all"):
        page.goto("/asset-groups")
        materialize_all = page.get_by_role("button", name=re.compile(r"Materialize all \(\d+\)"))
        expect(materialize_all).to_be_enabled(timeout=UI_TIMEOUT_MS)
        expect(materialize_all).to_contain_text(
            f"Materialize all ({expected_assets})", timeout=UI_TIMEOUT_MS
        )
        materialize_all.click()

        view_run = page.get_by_role("link", name="View", exact=True)
        expect(page.get_by_text("Launched run")).to_be_visible(timeout=UI_TIMEOUT_MS)
        screenshot(page, "03-run-launched")
        run_id = view_run.get_attribute("href").removeprefix("/runs/")
        view_run.click()
        expect(page).to_have_url(re.compile(f"/runs/{run_id}$"), timeout=UI_TIMEOUT_MS)
        screenshot(page, "04-run-page")

        status = wait_for_run(dagster_ui, run_id)
        assert status == "SUCCESS", (
            f"run {run_id} ended {status}; failed steps: {failed_steps(dagster_ui, run_id)}; "
            f"log tail ({dagster_ui.log_path}):\n{dagster_ui.log_tail()}"
        )
        expect(page.get_by_text("Success", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
        screenshot(page, "05-run-succeeded")

    for key, (table, column, chart) in ML_METADATA.items():
        name = key.replace("/", "__")
        with screenshot_on_failure(page, f"metadata-{name}"):
            check_ml_metadata(page, key, run_id, table, column, chart)
            screenshot(
                page,
                f"06-metadata-{name}",
                readme_image="churn-model.png" if key == "ml/churn_model" else None,
            )
            close_markdown_dialog(page)

    # The segmentation report the run wrote (self-contained Plotly HTML): its segment map.
    reports = sorted((dagster_ui.root / "reports" / "segmentation").glob("*.html"))
    assert reports, "the run wrote no segmentation report"
    page.goto(reports[-1].as_uri())
    segment_map = page.locator(".plotly-graph-div").nth(1)
    expect(segment_map).to_be_visible(timeout=UI_TIMEOUT_MS)
    README_IMAGES.mkdir(parents=True, exist_ok=True)
    segment_map.screenshot(path=README_IMAGES / "segment-map.png", animations="disabled")


CLI_RUN_QUERY = """
query RunOrigin($runId: ID!) { runOrError(runId: $runId) {
    __typename ... on Run { status pipelineName repositoryOrigin {
        repositoryName repositoryLocationName } } } }
"""


def test_a_cli_run_shows_on_the_overview_timeline(page: Page, dagster_ui: DagsterUI) -> None:
    """`insights run` on the same DAGSTER_HOME is listed like a UI run: the Overview timeline
    shows only runs with a code location origin. The CLI writes a warehouse of its own so it
    never waits for (or holds the refresh lock against) a run started in the UI."""
    env = {
        **dagster_ui.env,
        "INSIGHTS_WAREHOUSE_PATH": str(dagster_ui.root / "cli" / "warehouse.duckdb"),
    }
    insights = Path(sys.executable).with_name("insights")
    cli = subprocess.run(
        [str(insights), "run", "--select", "key:raw/customers"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    run_id = re.search(r"\(run ([0-9a-f-]{36})\)", cli.stdout).group(1)
    run = dagster_ui.graphql(CLI_RUN_QUERY, {"runId": run_id})["runOrError"]
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    location = workspace["load_from"][0]["python_module"]["location_name"]
    assert run["status"] == "SUCCESS" and run["pipelineName"] == "daily_refresh"
    assert run["repositoryOrigin"] == {
        "repositoryName": "__repository__",
        "repositoryLocationName": location,
    }

    with screenshot_on_failure(page, "overview-timeline"):
        # The refresh schedule is off by default, so its job has a timeline row only because
        # of this run.
        page.goto("/overview/activity/timeline")
        expect(page.get_by_text("daily_refresh", exact=True).first).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )
        screenshot(page, "07-overview-timeline")


RUN_QUERY = """
query RunStatus($runId: ID!) { runOrError(runId: $runId) {
    __typename ... on Run { status stepStats { stepKey status } } } }
"""


def wait_for_run(ui: DagsterUI, run_id: str) -> str:
    """Poll the run's status over GraphQL until it finishes (the UI shows the same)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = "unknown"
    while time.monotonic() < deadline:
        try:
            run = ui.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]
        except (urllib.error.URLError, TimeoutError):  # a busy webserver; ask again
            time.sleep(2)
            continue
        status = run.get("status", run["__typename"])
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(2)
    return f"still {status} after {RUN_TIMEOUT_S}s"


def failed_steps(ui: DagsterUI, run_id: str) -> list[str]:
    run = ui.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]
    return [step["stepKey"] for step in run.get("stepStats", []) if step["status"] == "FAILURE"]


def check_ml_metadata(
    page: Page, key: str, run_id: str, table: str, column: str, chart: str
) -> None:
    """The asset page shows the latest materialization (from this run) with its metrics table
    and its chart, a PNG embedded in the markdown."""
    page.goto(asset_path(key))
    expect(page.locator(f'a[href^="/runs/{run_id}"]').first).to_be_visible(timeout=UI_TIMEOUT_MS)
    table_cell = markdown_of(page, table)
    expect(table_cell.get_by_role("columnheader", name=column, exact=True)).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    close_markdown_dialog(page)
    chart_cell = markdown_of(page, chart)
    image = chart_cell.locator('img[src^="data:image/png;base64,"]')
    expect(image).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert image.evaluate("img => img.complete && img.naturalWidth > 0"), f"{chart} not decoded"


def markdown_of(page: Page, entry: str) -> Locator:
    """The rendered markdown of a metadata entry: inline in its row, or in the dialog that
    "[Show Markdown]" opens (Dagster folds long values such as embedded images)."""
    row = page.get_by_role("row").filter(has=page.get_by_text(entry, exact=True))
    expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
    fold = row.get_by_text("[Show Markdown]")
    if fold.count():
        fold.click()
        return page.get_by_role("dialog")
    return row


def close_markdown_dialog(page: Page) -> None:
    dialog = page.get_by_role("dialog")
    if dialog.count():
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_be_hidden(timeout=UI_TIMEOUT_MS)
