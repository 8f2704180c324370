"""Two queued experiments run at once (-j 2) against the team's tracking server: both are
recorded there with their own params, and nothing is written into the project.

They start from the reproduced workspace, so DVC restores the data stages from its cache and
only trains (one epoch each)."""

from __future__ import annotations

import pytest

from tests.pipeline.test_experiments import finished_runs, run_two_queued
from tests.pipeline.workspace import Workspace
from tests.team.conftest import Reproduced, TrackingServer

pytestmark = pytest.mark.slow

EXPERIMENT = "team-queued"


def test_two_queued_experiments_both_record_on_the_server(
    tracking_server: TrackingServer, reproduced: Reproduced, pushed: Workspace
) -> None:
    overrides = ("train.max_epochs=1", f"tracking.experiment={EXPERIMENT}")
    run_two_queued(pushed, reproduced.env, *overrides)

    with tracking_server.as_user("reader"):
        runs = finished_runs(tracking_server.client(), EXPERIMENT)
    for run in runs:
        assert run.data.params["train.max_epochs"] == "1"
        assert any(name.endswith("loss") for name in run.data.metrics), run.data.metrics
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    for local_store in ("mlartifacts", "mlruns", "mlflow.db"):
        assert not (pushed.root / local_store).exists(), f"{local_store} written into the project"
