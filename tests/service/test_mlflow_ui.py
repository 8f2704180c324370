"""The MLflow UI in a real headless Chromium, on two runs made by the real pipeline.

Two tiny ``dvc repro evaluate`` runs that differ in ``model.hidden_dim`` go into a throw-away
SQLite store; ``mlflow ui`` serves it, and Playwright drives Debian's Chromium
(``scripts/install-browser.sh``) through the runs table and the compare view, checking that each
run's headline ROUGE is shown in that run's row or column, as the UI formats it. Screenshots of
both pages go to ``$SUMMARIZER_SCREENSHOT_DIR`` when it is set (the README's come from here).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import write_gigaword_slice
from tests.pipeline.test_model_stages import TINY
from tests.pipeline.workspace import Workspace
from tests.service.conftest import stop_process_group, wait_until_up
from tests.service.test_serving import free_port

pytestmark = pytest.mark.slow

CHANGED_PARAM = "model.hidden_dim"
HIDDEN_DIMS = (64, 48)
VIEWPORT = {"width": 1400, "height": 900}
# The compare view stacks the plot, run details, parameters and metrics: taller, to show them all.
COMPARE_VIEWPORT = {"width": 1400, "height": 1500}
TIMEOUT_MS = 60_000  # the first page load compiles a large React bundle on a busy 2-core machine
INSTALL_HINT = "bash scripts/install-browser.sh (apt-get install chromium, as root)"


@dataclass
class Run:
    run_id: str
    name: str
    rouge: dict[str, float]  # the headline test ROUGE F1 scores, by metric name


@dataclass
class TrackedRuns:
    uri: str
    experiment_id: str
    runs: list[Run]
    metric_names: set[str]  # of both runs, as the compare view lists them
    workspace: Path  # where the pipeline ran: its reports and model are the last run's


def headline_rouge(metrics: Mapping[str, float]) -> dict[str, float]:
    """The test ROUGE F1 scores among a run's metrics, under the headline names (``test_rougeL``)
    or, in runs logged before they were introduced, the long ones (``test_rougeL_f``)."""
    found = {}
    for variant in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        for name in (f"test_{variant}", f"test_{variant}_f"):
            if name in metrics:
                found[name] = metrics[name]
                break
    return found


def js_number(value: float) -> str:
    """``String(value)`` in JavaScript, for the numbers a run holds: the runs table shows metric
    values that way, unrounded."""
    return str(int(value)) if value.is_integer() else repr(value)


def compare_view_number(value: float) -> str:
    """MLflow's ``Utils.formatMetric``, which the compare view applies: three decimals below 10,
    two below 100, one above, and an exponent below 0.001 (JavaScript's rounding, half up)."""
    if value == 0:
        return "0"
    if abs(value) < 0.001:
        mantissa, exponent = f"{value:.3e}".split("e")
        return f"{mantissa}e{int(exponent):+d}"
    scale = 1000 if abs(value) < 10 else 100 if abs(value) < 100 else 10
    return js_number(math.floor(value * scale + 0.5) / scale)


@pytest.fixture(scope="module")
def tracked_runs(tmp_path_factory: pytest.TempPathFactory, datasets_dir: Path) -> TrackedRuns:
    """Two finished runs of the real pipeline, one knob apart, in their own SQLite store."""
    root = tmp_path_factory.mktemp("ui")
    raw = write_gigaword_slice(root / "raw" / "gigaword", train_pairs=300, test_pairs=40)
    # The project's own experiment name (TINY's is for the pipeline tests), as a user sees it.
    tracking = {k: v for k, v in TINY["tracking"].items() if k != "experiment"}
    params = {"dataset": {"path": str(raw)}, **TINY, "tracking": tracking}
    params["model"] = {**TINY["model"], "hidden_dim": HIDDEN_DIMS[0]}
    workspace = Workspace.create(root / "repo", params=params)
    (root / "store").mkdir()
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"
    run_ids = []
    for hidden_dim in HIDDEN_DIMS:
        if hidden_dim != HIDDEN_DIMS[0]:
            workspace.update_params({"model": {"hidden_dim": hidden_dim}})
            workspace.git("commit", "-qam", f"hidden_dim {hidden_dim}")
        result = workspace.dvc("repro", "evaluate", env={"MLFLOW_TRACKING_URI": uri})
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        run_json = workspace.root / "models" / "mlflow_run.json"
        run_ids.append(json.loads(run_json.read_text())["run_id"])

    client = MlflowClient(tracking_uri=uri)
    runs, metric_names = [], set()
    for run_id, hidden_dim in zip(run_ids, HIDDEN_DIMS, strict=True):
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.data.params[CHANGED_PARAM] == str(hidden_dim)
        rouge = headline_rouge(run.data.metrics)
        assert rouge.keys() & {"test_rougeL", "test_rougeL_f"}, sorted(run.data.metrics)
        runs.append(Run(run_id, run.info.run_name, rouge))
        metric_names |= run.data.metrics.keys()
    assert runs[0].name != runs[1].name
    experiment_id = client.get_run(run_ids[0]).info.experiment_id
    return TrackedRuns(uri, experiment_id, runs, metric_names, workspace.root)


@dataclass
class CardVersion:
    name: str
    version: str
    test: dict[str, Any]  # the "test" scores of the evaluation it was registered from


@pytest.fixture(scope="module")
def card_version(tracked_runs: TrackedRuns) -> CardVersion:
    """The last run's model as a version with its model card as description, written as the
    register stage writes it. Not through the whole stage: its smoke check rightly refuses a
    model trained for two epochs, and the page is what is tested here."""
    from summarizer import tracking
    from summarizer.config.params import load_params
    from summarizer.evaluation.report import EvaluationReport
    from summarizer.registry import cards, ensure_logged
    from summarizer.stages import card_facts

    name = "ui-card"
    run_id = tracked_runs.runs[-1].run_id
    # Its registry too: a plain MlflowClient takes the registry URI an earlier test in this
    # process set globally, and would register the version in another store.
    client = tracking.client(tracked_runs.uri)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tracked_runs.workspace)
        params = load_params("params.yaml")
        report = json.loads(Path("reports/evaluation.json").read_text(encoding="utf-8"))
        evaluation = EvaluationReport.from_dict(report)
        tags = client.get_run(run_id).data.tags
        card = card_facts.gather(params, evaluation, run_id, tags)
        card = card.model_copy(update={"model_name": name})
        model_dir = Path("models/summarizer")
        logged = ensure_logged(tracked_runs.uri, run_id, model_dir, params.evaluate.decode)
    client.create_registered_model(name)
    version = client.create_model_version(
        name, logged.model_uri, run_id=run_id, model_id=logged.model_id
    )
    intro = "Registered by the UI test."
    cards.describe_version(tracked_runs.uri, name, str(version.version), card, intro)
    return CardVersion(name, str(version.version), dict(evaluation.test or {}))


@pytest.fixture(scope="module")
def mlflow_ui(tracked_runs: TrackedRuns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-ui")
    port = free_port()
    log_file = root / "mlflow-ui.log"
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    command = [
        str(mlflow_cli),
        "ui",
        "--backend-store-uri",
        tracked_runs.uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # The server execs ``uvicorn`` by name, as in an activated virtualenv.
    path = os.pathsep.join([str(mlflow_cli.parent), os.environ.get("PATH", "")])
    with open(log_file, "w") as log:
        # Its own session, so the server and its workers stop together; its own directory, so a
        # default ./mlartifacts is never created in the repository.
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": path},
            cwd=root,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{url}/health", log_file, "mlflow ui")
        yield url
    finally:
        stop_process_group(process)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Each test asks for `page` first, so this runs before the pipeline: no browser, a skip in
    # seconds.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Python package playwright missing: pip install -e '.[dev]'")
    executable = find_chromium()
    if executable is None:
        pytest.skip(f"no chromium on PATH (Debian package chromium): {INSTALL_HINT}")
    with sync_playwright() as playwright:
        # The system browser, not Playwright's download (unreachable here). Playwright already
        # passes --no-sandbox, which running as root needs; a container's small /dev/shm would
        # crash the renderer, hence --disable-dev-shm-usage.
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("SUMMARIZER_SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def texts_at(page: Any, row: Any, column: Any) -> list[str]:
    """The texts the page shows where ``row`` (a locator in a row) meets ``column`` (a locator in
    a column), found by position as a reader finds them, whatever the table is made of: those
    vertically centred on the row and starting where the column starts (both tables align left)."""
    row_box, column_box = row.bounding_box(), column.bounding_box()
    band = [row_box["y"] - 4, row_box["y"] + row_box["height"] + 4, column_box["x"]]
    return page.evaluate(
        """([top, bottom, left]) => {
            const texts = [];
            for (const element of document.querySelectorAll("body *")) {
                const text = element.childElementCount ? "" : element.textContent.trim();
                const box = element.getBoundingClientRect();
                const middle = box.top + box.height / 2;
                if (text && box.width && middle >= top && middle <= bottom
                    && Math.abs(box.left - left) <= 8) texts.push(text);
            }
            return texts;
        }""",
        band,
    )


def scroll_metrics_table(page: Any, first_metric: str, wanted: list[str], run_column: Any) -> None:
    """Scroll the compare view's metrics table until the rows of ``wanted`` are all drawn.

    Its metric names and values are two grids, and the names follow the values one scroll event
    late (MLflow 3.17 syncs them from the values grid's state before it updates), so every wheel
    step is followed by a one-pixel step back that brings the names along. The wheel turns over
    a value (``run_column`` locates a run's column): over the names, they would scroll the page.
    Only the rows in view are drawn, so the table is scrolled a row or two at a time from its
    first row, ``first_metric``.
    """
    if all(page.get_by_role("link", name=m, exact=True).count() for m in wanted):
        return
    first = page.get_by_role("link", name=first_metric, exact=True)
    if first.count():  # else the table is scrolled past it already: go on from there
        first.scroll_into_view_if_needed()
        row = first.bounding_box()
        page.mouse.move(run_column.bounding_box()["x"] + 10, row["y"] + row["height"] / 2)
    for _ in range(60):
        if all(page.get_by_role("link", name=m, exact=True).count() for m in wanted):
            return
        scroll_step(page)
    raise AssertionError(f"metrics {wanted} never shown in the compare view's table")


def scroll_step(page: Any) -> None:
    """One wheel step down the compare view's metrics table, and the step back that brings its
    names along (see :func:`scroll_metrics_table`)."""
    page.mouse.wheel(0, 50)
    page.wait_for_timeout(250)
    page.mouse.wheel(0, -1)
    page.wait_for_timeout(250)


def close_assistant(page: Any) -> None:
    # MLflow 3 opens an "MLflow Assistant" side panel over a third of the page.
    close = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
    if close.count():
        close.click()


def widen_run_names(page: Any) -> None:
    """Drag the Run Name column wider, so names like ``gigaword-e32h64-copy-cov-1a2b3c4`` show
    whole in the screenshot instead of ending in an ellipsis."""
    handle = page.locator(".ag-header-cell", has_text="Run Name").locator(".ag-header-cell-resize")
    handle.hover()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.down()
    for step in range(1, 13):
        page.mouse.move(x + 10 * step, y)
    page.mouse.up()


def plot_metric(page: Any, metric: str) -> None:
    """Choose the metric of the compare view's parallel coordinates plot (its second box;
    Backspace drops a choice), rather than the one MLflow picks."""
    page.get_by_role("combobox").nth(1).click()
    for _ in range(10):
        page.keyboard.press("Backspace")
    page.keyboard.type(metric)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_runs_table_shows_both_runs_and_their_rouge(
    page: Any, tracked_runs: TrackedRuns, mlflow_ui: str, screenshots: Path
) -> None:
    runs = tracked_runs.runs
    # workflowType: MLflow 3 opens an experiment on its GenAI overview, without the runs table.
    page.goto(
        f"{mlflow_ui}/#/experiments/{tracked_runs.experiment_id}/runs?workflowType=machine_learning"
    )
    for run in runs:
        page.get_by_text(run.name, exact=True).wait_for()
    close_assistant(page)
    # The table starts with attribute columns only; a reader picks metrics under "Columns".
    # Dropping three attributes makes room, since columns off screen are not rendered at all.
    page.get_by_role("button", name="Columns").click()
    chooser = page.get_by_role("dialog")
    for column in ["Dataset", "Source", "Models", CHANGED_PARAM, *sorted(runs[0].rouge)]:
        chooser.get_by_title(column, exact=True).click()
    page.keyboard.press("Escape")
    widen_run_names(page)

    for run, hidden_dim in zip(runs, HIDDEN_DIMS, strict=True):
        name = page.get_by_text(run.name, exact=True)
        header = page.get_by_text(CHANGED_PARAM, exact=True)
        assert str(hidden_dim) in texts_at(page, name, header), run.name
        for metric, value in run.rouge.items():
            shown = texts_at(page, name, page.get_by_text(metric, exact=True))
            assert js_number(value) in shown, (run.name, metric, shown)

    # Down to the table's last row: the rest of the page is empty.
    bottom = max(page.get_by_text(run.name, exact=True).bounding_box()["y"] for run in runs)
    height = min(bottom + 60, VIEWPORT["height"])
    clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
    page.screenshot(path=screenshots / "mlflow-runs.png", clip=clip)


def test_compare_view_shows_both_runs_and_their_rouge(
    page: Any, tracked_runs: TrackedRuns, mlflow_ui: str, screenshots: Path
) -> None:
    runs = tracked_runs.runs
    page.set_viewport_size(COMPARE_VIEWPORT)
    ids = json.dumps([run.run_id for run in runs])
    experiments = json.dumps([tracked_runs.experiment_id])
    page.goto(
        f"{mlflow_ui}/#/compare-runs?runs={quote(ids)}&experiments={quote(experiments)}"
        "&workflowType=machine_learning"
    )
    page.get_by_text(f"Comparing {len(runs)} Runs").wait_for()
    close_assistant(page)
    plot_metric(page, next(m for m in runs[0].rouge if m.removesuffix("_f") == "test_rougeL"))
    page.get_by_role("switch", name="Parameters - Show diff only").click()
    first_metric = min(tracked_runs.metric_names)
    # One metric at a time, down the table: the interval rows between them (test_rouge1_low...)
    # make the ROUGE rows more than its drawn window holds at once. ROUGE-Lsum, last of them,
    # is left to the runs table (test above): at that depth this harness reads the names grid
    # against another row of values (it found "gigaword" there), and on headlines it equals
    # ROUGE-L, which is read here.
    wanted = [metric for metric in sorted(runs[0].rouge) if "Lsum" not in metric]
    for metric in wanted:
        scroll_metrics_table(
            page, first_metric, [metric], page.get_by_text(runs[0].name, exact=True)
        )
        for run in runs:
            column = page.get_by_text(run.name, exact=True)
            shown = texts_at(page, page.get_by_role("link", name=metric, exact=True), column)
            assert compare_view_number(run.rouge[metric]) in shown, (run.name, metric, shown)

    page.get_by_text(f"Comparing {len(runs)} Runs").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "mlflow-compare.png")


def test_the_model_version_page_draws_the_cards_metrics_table(
    page: Any, card_version: CardVersion, mlflow_ui: str, screenshots: Path
) -> None:
    page.goto(f"{mlflow_ui}/#/models/{card_version.name}/versions/{card_version.version}")
    page.get_by_text("Registered by the UI test.").wait_for()
    close_assistant(page)
    # Drawn as a table, not shown as Markdown source: cells in rows.
    results = page.locator("table", has_text="ranks versions")
    assert results.count() == 1
    cells = results.locator("tr", has_text="ROUGE-L (ranks versions)").locator("td")
    texts = [cells.nth(i).inner_text().strip() for i in range(cells.count())]
    test = card_version.test
    interval = f"{test['rougeL_f_low']:.2f}–{test['rougeL_f_high']:.2f}"
    assert texts[:3] == ["ROUGE-L (ranks versions)", f"{test['rougeL_f']:.2f}", interval], texts
    headers = results.locator("th").all_inner_texts()
    assert [h.strip() for h in headers] == [
        "Metric",
        "This model",
        "Interval",
        "Baseline: lead_words_8",
    ]
    assert page.locator("text=| ROUGE-L").count() == 0  # no Markdown source left on the page
    results.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "mlflow-model-card.png")
