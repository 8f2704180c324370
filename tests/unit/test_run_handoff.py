"""Which MLflow run a stage writes to, and refusing a model directory of another training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from summarizer.config.paths import Paths
from summarizer.stages import run_handoff
from summarizer.stages.run_handoff import HandoffError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Paths.train_run.parent.mkdir(parents=True)
    return tmp_path


def record(run_id: str, finished: bool = True) -> None:
    Paths.train_run.write_text(json.dumps({"run_id": run_id, "finished": finished}))


def test_no_record_means_an_untracked_model(project: Path) -> None:
    assert run_handoff.training_record() is None
    run_handoff.check_model_is_of({"run_id": "a"}, None)  # nothing to compare with


def test_an_unfinished_training_is_refused(project: Path) -> None:
    record("a", finished=False)
    with pytest.raises(HandoffError, match="training did not finish"):
        run_handoff.training_record()


def test_a_model_of_another_training_is_refused(project: Path) -> None:
    record("new-run")
    training = run_handoff.training_record()
    assert training is not None and training.run_id == "new-run"
    run_handoff.check_model_is_of({"run_id": "new-run"}, training)
    run_handoff.check_model_is_of({}, training)  # a model directory copied in: no run of its own
    with pytest.raises(HandoffError, match="run the package stage") as refused:
        run_handoff.check_model_is_of({"run_id": "old-run"}, training)
    assert "old-run" in str(refused.value) and "new-run" in str(refused.value)


def test_register_logs_into_the_run_evaluate_scored(project: Path) -> None:
    record("training")
    training = run_handoff.training_record()
    assert training is not None
    assert run_handoff.run_to_register("evaluation", training) == "evaluation"
    assert run_handoff.run_to_register(None, training) == "training"
    assert run_handoff.run_to_resume({"run_id": "training"}) == "training"
    assert run_handoff.run_to_resume(None) is None
