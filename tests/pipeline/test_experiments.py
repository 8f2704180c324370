"""Queued experiments (`dvc exp run --queue`, two at a time) run in DVC's temporary copies of the
project, find the datasets through the `datasets` remote, and record into the project's own MLflow
store: nothing is left in the copies DVC deletes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace

pytestmark = pytest.mark.slow

TINY = {
    "dataset": {"path": "remote://datasets/gigaword"},  # the form params.yaml uses
    "model": {"emb_dim": 16, "hidden_dim": 32, "dropout": 0.1},
    "train": {"max_epochs": 1, "batch_tokens": 1500, "warmup_steps": 2, "threads": 1},
    "tracking": {"experiment": "queued", "log_system_metrics": False},
}


def test_two_queued_experiments_both_record_into_the_projects_store(
    tmp_path: Path, datasets_dir: Path
) -> None:
    store = tmp_path / "datasets"
    write_gigaword_slice(store / "gigaword", train_pairs=200, test_pairs=20)
    workspace = Workspace.create(tmp_path / "repo", params=TINY)
    workspace.set_datasets_store(store)
    env = {"MLFLOW_TRACKING_URI": ""}  # the default store: <project>/mlflow.db

    for seed in (1, 2):
        queued = workspace.dvc(
            "exp", "run", "--queue", "-S", f"train.seed={seed}", "train", env=env
        )
        assert queued.returncode == 0, queued.stderr[-2000:]
    ran = workspace.dvc("exp", "run", "--run-all", "-j", "2", env=env, timeout=900)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    shown = workspace.dvc("exp", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert '"state": "failed"' not in shown.stdout, shown.stdout[-3000:]

    database = workspace.root / "mlflow.db"
    assert database.is_file(), "no store in the project: the runs went to the temporary copies"
    client = MlflowClient(tracking_uri=f"sqlite:///{database}")
    experiment = client.get_experiment_by_name("queued")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.data.params["train.seed"] for run in runs) == ["1", "2"]
    assert {run.info.status for run in runs} == {"FINISHED"}
    # Artifacts beside the project's store too, not in the deleted copies.
    for run in runs:
        assert run.info.artifact_uri.startswith((workspace.root / "mlartifacts").as_uri())
    names = {
        exp["name"] for row in json.loads(shown.stdout) for exp in row.get("experiments") or []
    }
    assert len(names) == 2, names  # both experiments kept by DVC too
