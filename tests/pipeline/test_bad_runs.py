"""A bad run never costs the last good one (issue 22): a loss that turns NaN, a full disk and a
process killed outright, each on a real workspace whose pipeline ran once with good params. The
last good outputs (checkpoints, model, run record, reports) are byte-identical afterwards, the
error names what went wrong without a traceback, and no MLflow run is left RUNNING."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from summarizer import run_ownership
from tests.conftest import write_gigaword_slice
from tests.file_size_limit import run_limited
from tests.pipeline.workspace import Workspace, merge_params

pytestmark = pytest.mark.slow

PARAMS = {
    # Big enough that a checkpoint (weights and AdamW's two moments) is several times the size
    # of the MLflow store: a file size limit between the two fails the checkpoint alone.
    "model": {"emb_dim": 64, "hidden_dim": 128, "dropout": 0.1},
    "train": {"max_epochs": 1, "batch_tokens": 1500, "warmup_steps": 2, "threads": 1},
    "evaluate": {
        "max_test_examples": 60,
        "attention_examples": 1,
        "decode": {"beam_size": 2, "max_length": 10},
        "scoring": {"bootstrap_samples": 20},
        "extra_test_sets": {},
    },
    "tracking": {"experiment": "bad-runs", "log_system_metrics": False},
}
EXPERIMENT = PARAMS["tracking"]["experiment"]
PENDING = "models/checkpoints/pending.pt"  # a newer run's resume state: not the good run's


class Project:
    """The workspace, its MLflow store, and what its one good run left."""

    def __init__(self, workspace: Workspace, uri: str) -> None:
        self.workspace = workspace
        self.root = workspace.root
        self.uri = uri
        self.env = {"MLFLOW_TRACKING_URI": uri}
        self.good = self.outputs()

    def outputs(self) -> dict[str, bytes]:
        """Every file under models/ and reports/, by path; a newer run's pending.pt and the
        half-written file a process killed while saving leaves (in a hidden folder beside its
        target, deleted by the next training) are not the good run's."""
        files = sorted(p for d in ("models", "reports") for p in (self.root / d).rglob("*"))
        names = [str(p.relative_to(self.root)) for p in files if p.is_file()]
        return {
            name: (self.root / name).read_bytes()
            for name in names
            if name != PENDING and not name.startswith("models/checkpoints/.")
        }

    def params_file(self, name: str, overrides: dict) -> str:
        """A params file beside params.yaml with ``overrides``: ``summarizer <stage> --params``."""
        params = merge_params(self.workspace.params, overrides)
        (self.root / name).write_text(yaml.safe_dump(params, sort_keys=False))
        return name

    def summarizer(self, *args: str) -> list[str]:
        return [str(Path(sys.executable).parent / "summarizer"), *args]

    def runs(self) -> list:
        client = MlflowClient(self.uri)
        return client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])

    def assert_nothing_replaced(self) -> None:
        now = self.outputs()
        assert sorted(now) == sorted(self.good)
        changed = [name for name, content in self.good.items() if now[name] != content]
        assert changed == [], f"replaced by the bad run: {changed}"

    def assert_no_run_left_running(self) -> None:
        running = [r.info.run_id for r in self.runs() if r.info.status == "RUNNING"]
        assert running == []
        assert all(r.info.end_time is not None for r in self.runs())


def one_line(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines when not on a terminal


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    tmp_path = tmp_path_factory.mktemp("bad-runs")
    raw = write_gigaword_slice(tmp_path / "raw" / "gigaword", train_pairs=200, test_pairs=60)
    workspace = Workspace.create(
        tmp_path / "repo", params={"dataset": {"path": str(raw)}, **PARAMS}
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    good = workspace.dvc("repro", "evaluate", env={"MLFLOW_TRACKING_URI": uri})
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    project = Project(workspace, uri)
    assert {"models/checkpoints/best.pt", "models/checkpoints/last.pt"} <= set(project.good)
    assert [r.info.status for r in project.runs()] == ["FINISHED"]
    yield project


def test_a_loss_that_turns_nan_stops_training_and_replaces_nothing(project: Project) -> None:
    bad = project.params_file("diverging.yaml", {"train": {"lr": 1e30, "warmup_steps": 0}})
    result = project.workspace.run(*project.summarizer("train", "--params", bad), env=project.env)
    error = one_line(result.stderr)
    assert result.returncode == 1, error[-3000:]
    assert "Traceback" not in result.stderr
    assert "error: training diverged: the training loss of step " in error
    assert "(epoch 1, step " in error and ") is nan, so training stopped" in error
    assert "Lower train.lr (now 1e+30)" in error
    assert "nothing was replaced" in error and "models/checkpoints/last.pt and best.pt" in error
    project.assert_nothing_replaced()
    project.assert_no_run_left_running()
    failed = [r for r in project.runs() if r.info.status == "FAILED"]
    assert len(failed) == 1
    assert "training diverged" in failed[0].data.tags[run_ownership.END_REASON_TAG]


def test_a_diverging_dvc_repro_keeps_the_checkpoints_and_dvc_restores_the_rest(
    project: Project,
) -> None:
    workspace = project.workspace
    params = (project.root / "params.yaml").read_text()
    workspace.update_params({"train": {"lr": 1e30, "warmup_steps": 0}})
    try:
        result = workspace.dvc("repro", "train", env=project.env)
        assert result.returncode != 0
        assert "training diverged" in one_line(result.stderr + result.stdout)
        assert "Traceback" not in result.stderr + result.stdout
    finally:
        (project.root / "params.yaml").write_text(params)
    restored = workspace.dvc("checkout", "train", env=project.env)
    assert restored.returncode == 0, restored.stderr[-2000:]
    project.assert_nothing_replaced()
    project.assert_no_run_left_running()


def test_a_full_disk_in_train_names_the_file_and_replaces_nothing(project: Project) -> None:
    # Other params (a fresh run, not a resume), files capped between the store and a checkpoint.
    store = Path(project.uri.removeprefix("sqlite:///"))
    checkpoint = len(project.good["models/checkpoints/last.pt"])
    limit = store.stat().st_size + 512 * 1024
    assert limit < checkpoint, "the checkpoint must outgrow the limit the store stays under"
    other = project.params_file("other-seed.yaml", {"train": {"seed": 7}})
    result = run_limited(
        project.summarizer("train", "--params", other),
        limit,
        cwd=project.root,
        env={**project.workspace.env(), **project.env},
    )
    error = one_line(result.stderr)
    assert result.returncode == 1, error[-3000:]
    assert "Traceback" not in result.stderr
    assert (
        # The epoch's end saves the new best first: the first file past the limit.
        f"error: models/checkpoints/best.pt: cannot be written (File too large; the file "
        f"size limit (ulimit -f) is {limit} bytes); nothing was replaced: models/trained, "
        "models/mlflow_run.json and the train reports are the last good run's, and so are "
        "models/checkpoints/last.pt and best.pt"
    ) in error, error
    project.assert_nothing_replaced()
    project.assert_no_run_left_running()


def test_a_full_disk_in_evaluate_names_the_file_and_replaces_nothing(project: Project) -> None:
    # Other scoring options (the decoding options are the packaged model's own), so that a
    # success would change the reports; files capped under the predictions (written first) and
    # above what the MLflow store's check writes.
    predictions = len(project.good["reports/predictions.jsonl"])
    limit = 16 * 1024
    assert limit < predictions
    other = project.params_file(
        "other-scoring.yaml", {"evaluate": {"scoring": {"bootstrap_samples": 10}}}
    )
    result = run_limited(
        project.summarizer("evaluate", "--params", other),
        limit,
        cwd=project.root,
        env={**project.workspace.env(), **project.env},
    )
    error = one_line(result.stderr)
    assert result.returncode == 1, error[-3000:]
    assert "Traceback" not in result.stderr
    assert (
        "error: reports/predictions.jsonl: cannot be written (File too large; the file size "
        f"limit (ulimit -f) is {limit} bytes); nothing was replaced: no output of evaluate was "
        "replaced"
    ) in error
    project.assert_nothing_replaced()
    project.assert_no_run_left_running()


def test_evaluate_refuses_options_the_model_was_not_packaged_with(project: Project) -> None:
    """models/summarizer carries the options it is evaluated with: evaluate run by hand with
    others stops before decoding, says what to run, and replaces nothing."""
    other = project.params_file("greedy.yaml", {"evaluate": {"decode": {"beam_size": 1}}})
    result = project.workspace.run(
        *project.summarizer("evaluate", "--params", other), env=project.env
    )
    error = one_line(result.stderr)
    assert result.returncode == 1, error[-3000:]
    assert "Traceback" not in result.stderr
    assert (
        "error: models/summarizer was packaged with other decoding options than "
        "evaluate.decode: beam_size 2 (not 1); run `summarizer package` with the same params "
        "first (`dvc repro` does)"
    ) in error, error
    project.assert_nothing_replaced()
    project.assert_no_run_left_running()


def test_a_run_killed_with_sigkill_is_marked_by_the_next_stage(project: Project) -> None:
    slow = project.params_file(
        "slow.yaml", {"train": {"seed": 11, "batch_tokens": 300, "checkpoint_every_steps": 1}}
    )
    trainer = subprocess.Popen(
        project.summarizer("train", "--params", slow),
        cwd=project.root,
        env={**project.workspace.env(), **project.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pending = project.root / PENDING
    deadline = time.monotonic() + 300
    while not pending.exists() and time.monotonic() < deadline and trainer.poll() is None:
        time.sleep(0.1)
    assert pending.exists(), "no checkpoint was written"
    trainer.send_signal(signal.SIGKILL)
    trainer.wait(timeout=60)
    project.assert_nothing_replaced()
    killed = [r for r in project.runs() if r.info.status == "RUNNING"]
    assert len(killed) == 1  # what kill -9 leaves: nothing in the process could mark it

    nxt = project.workspace.run(*project.summarizer("evaluate"), env=project.env)
    assert nxt.returncode == 0, nxt.stderr[-3000:]
    assert f"MLflow run {killed[0].info.run_id}" in one_line(nxt.stderr)
    run = MlflowClient(project.uri).get_run(killed[0].info.run_id)
    assert run.info.status == "KILLED" and run.info.end_time is not None
    reason = run.data.tags[run_ownership.END_REASON_TAG]
    assert f"process {trainer.pid} on " in reason and "ended without closing the run" in reason
    project.assert_no_run_left_running()
