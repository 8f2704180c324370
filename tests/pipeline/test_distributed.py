"""``train.nproc: 2`` on a real ``dvc repro train``: the stage re-launches itself under torchrun
(gloo on the CPU), a SIGTERM to torchrun stops both workers at a checkpoint, and the next
``dvc repro`` resumes them into the one MLflow run, which rank 0 alone tracks."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace

pytestmark = pytest.mark.slow


def test_two_processes_stop_on_sigterm_and_resume_into_one_run(
    tmp_path: Path, datasets_dir: Path
) -> None:
    raw = write_gigaword_slice(tmp_path / "raw" / "gigaword", train_pairs=600, test_pairs=20)
    workspace = Workspace.create(
        tmp_path / "repo",
        params={
            "dataset": {"path": str(raw)},
            "model": {"emb_dim": 32, "hidden_dim": 64},
            "train": {
                "max_epochs": 2,
                "batch_tokens": 600,
                "checkpoint_every_steps": 2,
                "threads": 1,
                "nproc": 2,
            },
            "tracking": {"log_system_metrics": False},
        },
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri}
    assert workspace.dvc("repro", "vocab").returncode == 0

    dvc = workspace.repro_train_until_checkpoint(env)
    torchrun = _torchrun_process(dvc.pid)
    assert len(_workers(torchrun)) == 2
    torchrun.send_signal(signal.SIGTERM)  # what a scheduler or `kill` of the stage does
    output, _ = dvc.communicate(timeout=120)
    output = " ".join(output.split())
    assert dvc.returncode != 0
    assert output.count("SIGTERM received: checkpoint saved") == 2, output[-3000:]  # each rank
    client = MlflowClient(uri)
    first = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [run.info.status for run in first] == ["KILLED"]

    resumed = workspace.dvc("repro", "train", env=env)
    log = " ".join(resumed.stderr.split())
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "re-launching under torchrun" in log and "resuming from" in log
    assert log.count("epoch 2: train loss") == 1  # rank 0 alone reports
    runs = client.search_runs([first[0].info.experiment_id])
    assert [(run.info.run_id, run.info.status) for run in runs] == [
        (first[0].info.run_id, "FINISHED")
    ]
    assert runs[0].data.params["train.nproc"] == "2"
    history = (workspace.root / "reports" / "train_history.csv").read_text().splitlines()
    assert len(history) == 1 + 2
    assert (workspace.root / "models" / "trained" / "config.json").is_file()
    checkpoints = workspace.root / "models" / "checkpoints"
    assert {p.name for p in checkpoints.iterdir()} == {"last.pt", "best.pt"}


def _torchrun_process(dvc_pid: int) -> psutil.Process:
    """The stage's process once it has become torchrun (it keeps its process id)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for child in psutil.Process(dvc_pid).children(recursive=True):
            if "torch.distributed.run" in " ".join(child.cmdline()):
                return child
        time.sleep(0.2)
    raise AssertionError("no torchrun process under dvc repro")


def _workers(torchrun: psutil.Process) -> list[psutil.Process]:
    return [
        child
        for child in torchrun.children(recursive=True)
        if "from summarizer.cli import app" in " ".join(child.cmdline())
    ]
