"""A stage that fails (here: a typo in params.yaml) must not cost its last good outputs: DVC
deletes them before running it, and `dvc checkout` brings them back only if they are cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace

pytestmark = pytest.mark.slow

TINY = {
    "model": {"emb_dim": 16, "hidden_dim": 32, "dropout": 0.1},
    "train": {"max_epochs": 1, "batch_tokens": 1500, "warmup_steps": 2, "threads": 1},
    "tracking": {"experiment": "failed-stage", "log_system_metrics": False},
}
TRAIN_OUTPUTS = [
    "models/mlflow_run.json",
    "reports/train_metrics.json",
    "reports/train_history.csv",
    "reports/train_history.png",
    "models/trained/model.pt",
]


def test_checkout_restores_train_outputs_after_a_failed_run(tmp_path: Path) -> None:
    raw = write_gigaword_slice(tmp_path / "raw" / "gigaword", train_pairs=200, test_pairs=20)
    workspace = Workspace.create(tmp_path / "repo", params={"dataset": {"path": str(raw)}, **TINY})
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    first = workspace.dvc("repro", "train", env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    good = {name: (workspace.root / name).read_bytes() for name in TRAIN_OUTPUTS}

    workspace.update_params({"train": {"max_epoch": 2}})  # typo of max_epochs
    broken = workspace.dvc("repro", "train", env=env)
    assert broken.returncode != 0
    assert "train.max_epoch" in broken.stderr + broken.stdout

    restored = workspace.dvc("checkout", "train", env=env)
    assert restored.returncode == 0, restored.stderr[-2000:]
    for name, content in good.items():
        path = workspace.root / name
        assert path.is_file(), f"{name}: not restored by dvc checkout"
        assert path.read_bytes() == content, f"{name}: restored with other content"
