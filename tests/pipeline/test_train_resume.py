"""SIGTERM to a real ``dvc repro train``: a checkpoint is saved, and the next ``dvc repro``
resumes it into the same MLflow run."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace

pytestmark = pytest.mark.slow


def test_sigterm_checkpoints_and_next_repro_resumes(tmp_path: Path, datasets_dir: Path) -> None:
    raw = write_gigaword_slice(tmp_path / "raw" / "gigaword", train_pairs=600, test_pairs=20)
    workspace = Workspace.create(
        tmp_path / "repo",
        params={
            "dataset": {"path": str(raw)},
            "model": {"emb_dim": 32, "hidden_dim": 64},
            "train": {
                "max_epochs": 3,
                "batch_tokens": 600,
                "checkpoint_every_steps": 2,
                "threads": 1,
            },
            "tracking": {"log_system_metrics": False},
        },
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri}
    assert workspace.dvc("repro", "vocab").returncode == 0

    dvc = workspace.repro_train_until_checkpoint(env)
    trainer = _trainer_process(dvc.pid)
    trainer.send_signal(signal.SIGTERM)
    output, _ = dvc.communicate(timeout=120)
    output = " ".join(output.split())  # rich wraps long lines when not on a terminal
    assert dvc.returncode != 0
    assert "SIGTERM received" in output and "run again to resume" in output
    first_run = MlflowClient(uri).search_runs(
        [e.experiment_id for e in MlflowClient(uri).search_experiments()]
    )
    assert [run.info.status for run in first_run] == ["KILLED"]

    resumed = workspace.dvc("repro", "train", env=env)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "resuming from models/checkpoints/last.pt" in " ".join(resumed.stderr.split())
    runs = MlflowClient(uri).search_runs([first_run[0].info.experiment_id])
    assert [(run.info.run_id, run.info.status) for run in runs] == [
        (first_run[0].info.run_id, "FINISHED")
    ]
    history = (workspace.root / "reports" / "train_history.csv").read_text().splitlines()
    assert len(history) == 1 + 3
    run_file = json.loads((workspace.root / "models" / "mlflow_run.json").read_text())
    assert run_file["run_id"] == first_run[0].info.run_id


def _trainer_process(dvc_pid: int) -> psutil.Process:
    """The Python process running ``summarizer train`` under ``dvc repro``.

    DVC starts the stage command through ``$SHELL -c``; bash execs a simple command in place,
    but other shells (dash as ``/bin/sh``) keep a shell process as the trainer's parent, whose
    command line also reads ``summarizer train``. The trainer is the innermost match.
    """
    matches = [
        child
        for child in psutil.Process(dvc_pid).children(recursive=True)
        if "summarizer train" in " ".join(child.cmdline())
    ]
    parents = {parent.pid for process in matches for parent in process.parents()}
    innermost = [process for process in matches if process.pid not in parents]
    assert len(innermost) == 1, [" ".join(p.cmdline()) for p in matches]
    return innermost[0]
