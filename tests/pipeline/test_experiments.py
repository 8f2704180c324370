"""Queued experiments (`dvc exp run --queue`, two at a time) run in DVC's temporary copies of the
project, find the datasets through the `datasets` remote, and record into the project's own MLflow
store: nothing is left in the copies DVC deletes.

The helpers are shared with the tracking server variant (``tests/team/test_team_queue.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
SEEDS = ("1", "2")


def queue_workspace(tmp_path: Path, experiment: str = "queued") -> Workspace:
    """A project copy whose `datasets` remote holds a small Gigaword slice."""
    store = tmp_path / "datasets"
    write_gigaword_slice(store / "gigaword", train_pairs=200, test_pairs=20)
    params: dict[str, Any] = {**TINY, "tracking": {**TINY["tracking"], "experiment": experiment}}
    workspace = Workspace.create(tmp_path / "repo", params=params)
    workspace.set_datasets_store(store)
    return workspace


def run_two_queued(workspace: Workspace, env: dict[str, str], *overrides: str) -> list[dict]:
    """Queue the train stage with two seeds (and ``overrides``, ``key=value`` each), run both at
    once (-j 2), and return what `dvc exp show --json` says, after checking neither failed."""
    settings = [arg for override in overrides for arg in ("-S", override)]
    for seed in SEEDS:
        queued = workspace.dvc(
            "exp", "run", "--queue", "-S", f"train.seed={seed}", *settings, "train", env=env
        )
        assert queued.returncode == 0, queued.stderr[-2000:]
    try:
        ran = workspace.dvc("exp", "run", "--run-all", "-j", "2", env=env, timeout=900)
    finally:
        # Idle workers wait a while for more tasks; this test's must not outlive it.
        workspace.dvc("queue", "stop", env=env, timeout=120)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    shown = workspace.dvc("exp", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    rows = json.loads(shown.stdout)
    failed = [
        exp["executor"]["local"]["log"]
        for row in rows
        for exp in row.get("experiments") or []
        if (exp.get("executor") or {}).get("state") == "failed"
    ]
    # The failed experiment's own log says why; DVC's summary says only "Experiment run failed".
    assert not failed, "\n".join(Path(log).read_text()[-3000:] for log in failed)
    names = {exp["name"] for row in rows for exp in row.get("experiments") or []}
    assert len(names) == 2, names  # both experiments kept by DVC too
    return rows


def finished_runs(client: MlflowClient, experiment: str) -> list:
    """The runs of ``experiment``: one per seed, each finished, with its own params."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in the store"
    runs = client.search_runs([found.experiment_id])
    assert sorted(run.data.params["train.seed"] for run in runs) == sorted(SEEDS)
    assert {run.info.status for run in runs} == {"FINISHED"}
    return runs


def test_two_queued_experiments_both_record_into_the_projects_store(
    tmp_path: Path, datasets_dir: Path
) -> None:
    workspace = queue_workspace(tmp_path)
    run_two_queued(workspace, {"MLFLOW_TRACKING_URI": ""})  # the default: <project>/mlflow.db

    database = workspace.root / "mlflow.db"
    assert database.is_file(), "no store in the project: the runs went to the temporary copies"
    runs = finished_runs(MlflowClient(tracking_uri=f"sqlite:///{database}"), "queued")
    # Artifacts beside the project's store too, not in the deleted copies.
    for run in runs:
        assert run.info.artifact_uri.startswith((workspace.root / "mlartifacts").as_uri())
