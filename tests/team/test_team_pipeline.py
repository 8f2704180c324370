"""The team's setup end to end: the tiny ``dvc repro`` against the tracking server (PostgreSQL,
proxied artifacts), promote and serve from the registry there, then the cached outputs pushed to
a DVC remote from one clone and pulled into another, where nothing re-runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from tests.pipeline.workspace import Workspace
from tests.service.conftest import stop_process_group, wait_until_up
from tests.service.test_serving import free_port
from tests.team.conftest import MODEL, PARAMS, Reproduced, TrackingServer, server_env

pytestmark = pytest.mark.slow


def test_runs_and_artifacts_live_on_the_server(
    reproduced: Reproduced, tracking_server: TrackingServer
) -> None:
    root = reproduced.workspace.root
    client = tracking_server.client()
    run_id = json.loads((root / "models" / "mlflow_run.json").read_text())["run_id"]
    with tracking_server.as_user("reader"):
        check_run_on_server(client, run_id, root)
    # The server keeps them; nothing in the workspace, so no client needs the server's disk.
    assert list(tracking_server.artifacts.rglob("*.csv")), "no artifact on the server's side"
    for local_store in ("mlartifacts", "mlruns", "mlflow.db"):
        assert not (root / local_store).exists(), f"{local_store} written into the workspace"


def check_run_on_server(client, run_id: str, root: Path) -> None:
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["model.hidden_dim"] == str(PARAMS["model"]["hidden_dim"])
    assert any(name.startswith("test_rouge") for name in run.data.metrics), run.data.metrics
    assert client.get_metric_history(run_id, "val_loss")
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"training", "evaluation"} <= artifacts, artifacts
    history = client.list_artifacts(run_id, "training")
    downloaded = Path(client.download_artifacts(run_id, history[0].path, str(root.parent)))
    assert downloaded.stat().st_size > 0


def test_registered_version_is_traceable_promoted_and_served(
    reproduced: Reproduced, tracking_server: TrackingServer, tmp_path: Path
) -> None:
    workspace = reproduced.workspace
    report = json.loads((workspace.root / "reports" / "register.json").read_text())
    assert report["registered"] is True, report["reason"]
    with tracking_server.as_user("reader"):
        version = tracking_server.client().get_model_version(MODEL, report["version"])
    assert version.tags["dvc_remote"] == str(reproduced.remote)
    assert version.tags["git_commit"] == workspace.git("rev-parse", "HEAD").strip()
    assert len(version.tags["data_hash"]) == 64
    assert len(version.tags["model_digest"]) == 64

    # The pipeline's account registers, but moving @champion is a release: MANAGE on the model.
    as_pipeline = workspace.run("summarizer", "promote", "--reason", "team", env=reproduced.env)
    assert as_pipeline.returncode == 1, as_pipeline.stdout + as_pipeline.stderr
    message = " ".join(as_pipeline.stderr.split())
    assert "needs MANAGE permission" in message, message
    assert "Traceback" not in as_pipeline.stderr
    with tracking_server.as_user("reader"):
        assert "champion" not in tracking_server.client().get_registered_model(MODEL).aliases

    release = tracking_server.env("release")
    promoted = workspace.run("summarizer", "promote", "--reason", "team", env=release)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert f"-> version {report['version']}" in promoted.stdout

    # A teammate with read access summarizes with the champion from the CLI ...
    reader = tracking_server.env("reader")
    summarized = workspace.run("summarizer", "summarize", reproduced.document, env=reader)
    assert summarized.returncode == 0, summarized.stdout + summarized.stderr
    assert summarized.stdout.strip()

    port = free_port()
    log_file = tmp_path / "serve.log"
    command = ["mlflow", "models", "serve", "-m", f"models:/{MODEL}@champion"]
    with open(log_file, "w") as log:
        server = subprocess.Popen(
            [*command, "--env-manager", "local", "-p", str(port)],
            cwd=tmp_path,  # away from the workspace: the model comes from the server alone
            env=server_env(**reader),  # ... and serves it over HTTP
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(server, f"{url}/ping", log_file, "mlflow models serve")
        response = requests.post(
            f"{url}/invocations",
            json={"dataframe_records": [{"document": reproduced.document}]},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        (summary,) = response.json()["predictions"]
        assert isinstance(summary, str) and summary.strip()
    finally:
        stop_process_group(server)


def test_a_fresh_clone_pulls_everything_and_reproduces_nothing(
    pushed: Workspace, reproduced: Reproduced
) -> None:
    clone = Workspace(pushed.root.parent / "clone")
    subprocess.run(
        ["git", "clone", "-q", str(pushed.root), str(clone.root)], check=True, capture_output=True
    )
    clone.set_datasets_store(pushed.root.parent / "shared" / "datasets")  # as setup.sh does
    pull = clone.dvc("pull")
    assert pull.returncode == 0, pull.stdout + pull.stderr
    assert (clone.root / "models" / "summarizer" / "model.pt").is_file()

    status = clone.dvc("status")
    assert status.returncode == 0, status.stderr
    assert "up to date" in status.stdout, status.stdout
    repro = clone.dvc("repro", env=reproduced.env)
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert "Running stage" not in repro.stdout, repro.stdout


def test_push_to_a_remote_that_cannot_be_a_directory_names_it(
    pushed: Workspace, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    target = blocker / "store"  # its parent is a file
    added = pushed.dvc("remote", "add", "--local", "broken", str(target))
    assert added.returncode == 0, added.stderr
    try:
        broken = pushed.dvc("push", "-r", "broken")
        assert broken.returncode != 0
        assert str(target) in broken.stderr, broken.stderr
    finally:
        pushed.dvc("remote", "remove", "--local", "broken")
