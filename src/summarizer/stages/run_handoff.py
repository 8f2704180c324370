"""Which MLflow run each stage writes to: decided here, and only here.

- ``train`` creates the run, or resumes the one its checkpoint names (an interrupted training goes
  on in the same run; DVC deletes ``models/mlflow_run.json`` before it re-runs the stage, the
  persistent checkpoint survives), and writes :data:`Paths.train_run` once training finished;
- ``evaluate`` logs into that run, or into a run of its own when the run was evaluated before with
  other evaluate params (:meth:`~summarizer.tracking_runs.TrackedRun.for_evaluation`), and
  names the run it used in its report (:attr:`EvaluationReport.run_id`);
- ``register`` logs the model into the run ``evaluate`` named: the scores it judges are that
  run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.config.paths import Paths
from summarizer.errors import SummarizerError
from summarizer.io import read_json, write_json
from summarizer.redaction import mask_uri

if TYPE_CHECKING:
    from summarizer.tracking_runs import TrackedRun

RESUME_KEY = "run_id"  # in the checkpoint's metadata


class HandoffError(SummarizerError):
    """A stage was run before the stage whose run it goes on with."""


@dataclass(frozen=True)
class TrainingRecord:
    """``models/mlflow_run.json``: the run of a training that finished."""

    run_id: str
    experiment: str
    tracking_uri: str  # masked: a DVC output, pushed to the team's remote


def run_to_resume(checkpoint_metadata: dict[str, Any] | None) -> str | None:
    """The run an interrupted training goes on in: the one its resumable checkpoint names."""
    return None if checkpoint_metadata is None else checkpoint_metadata.get(RESUME_KEY)


def remember_for_resume(checkpoint_metadata: dict[str, Any], run: TrackedRun) -> None:
    """Name ``run`` in the checkpoints training writes from now on."""
    checkpoint_metadata[RESUME_KEY] = run.run_id


def record_training_run(path: Path, run: TrackedRun, experiment: str) -> None:
    """Write the record of a finished training's ``run`` (at ``path``: the staged copy of
    :data:`Paths.train_run`). Written only by a run that finished, so it never names a failed
    one."""
    write_json(
        path,
        {
            "run_id": run.run_id,
            "tracking_uri": mask_uri(run.uri),
            "experiment": experiment,
            "finished": True,
        },
    )


def training_record() -> TrainingRecord | None:
    """The run of the last finished training, None when the model was not trained by the
    ``train`` stage of this workspace (a model directory copied in: evaluated, not tracked)."""
    if not Paths.train_run.is_file():
        return None
    record = read_json(Paths.train_run)
    if not record.get("finished") or not record.get("run_id"):
        raise HandoffError(f"{Paths.train_run}: training did not finish; run the train stage")
    return TrainingRecord(
        record["run_id"], record.get("experiment", ""), record.get("tracking_uri", "")
    )


def run_to_register(evaluated_run_id: str | None, training: TrainingRecord) -> str:
    """The run ``register`` logs the model into: the one ``evaluate`` logged its scores into
    (the training run when the report predates run names in it)."""
    return evaluated_run_id or training.run_id


def check_model_is_of(model_meta: dict[str, Any], training: TrainingRecord | None) -> None:
    """Refuse a model directory that another training wrote than the one ``training`` records:
    run by hand, ``train`` without ``package`` leaves the last packaged model in place, and its
    scores (or the model itself) would go into the new training's run."""
    packaged_from = model_meta.get("run_id")  # the train stage writes it into meta.json
    if training is None or packaged_from is None or packaged_from == training.run_id:
        return
    raise HandoffError(
        f"{Paths.model_dir} holds the model of MLflow run {packaged_from}, but the last training "
        f"({Paths.train_run}) is run {training.run_id}: run the package stage first "
        "(`dvc repro` does)"
    )
