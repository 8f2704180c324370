"""Bad team configuration is a clear error before any work: a tracking server that does not
answer, a database that refuses the tracking server, a DVC remote that is not there."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.pipeline.workspace import Workspace
from tests.service.test_serving import free_port
from tests.team.conftest import PASSWORD, Postgres, server_env

pytestmark = pytest.mark.slow

FAST = 60  # seconds: importing MLflow and torch on a busy 2-core machine, not a retry loop


def test_train_stops_before_any_work_when_the_server_does_not_answer(
    tmp_path: Path, datasets_dir: Path
) -> None:
    workspace = Workspace.create(tmp_path / "repo")  # no data: any work would fail differently
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    train = workspace.run("summarizer", "train", env={"MLFLOW_TRACKING_URI": uri}, timeout=300)
    assert train.returncode == 1, train.stdout + train.stderr
    assert f"MLflow tracking store at {uri} cannot be reached" in " ".join(train.stderr.split())
    assert time.monotonic() - started < FAST
    assert not (workspace.root / "models" / "trained").exists()


@pytest.mark.parametrize(
    ("password", "wrong_port", "hint"),
    [
        ("not-the-password", False, "check the user name and password"),
        (PASSWORD, True, "start PostgreSQL"),
    ],
    ids=["wrong-password", "nothing-on-port"],
)
def test_tracking_server_does_not_start_when_the_database_refuses(
    postgres: Postgres, tmp_path: Path, password: str, wrong_port: bool, hint: str
) -> None:
    uri = postgres.uri(password=password, port=free_port() if wrong_port else None)
    env = server_env(
        MLFLOW_BACKEND_STORE_URI=uri, MLFLOW_ARTIFACTS_DESTINATION=str(tmp_path / "artifacts")
    )
    started = time.monotonic()
    result = subprocess.run(
        ["summarizer", "tracking-server", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    message = " ".join(result.stderr.split())  # rich wraps long lines
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mlflow:***@127.0.0.1" in message, message
    assert password not in message
    assert hint in message, message
    assert time.monotonic() - started < FAST
    assert not (tmp_path / "artifacts").exists()


def test_push_without_a_remote_says_so(tmp_path: Path, datasets_dir: Path) -> None:
    workspace = Workspace.create(tmp_path / "repo")
    push = workspace.dvc("push")
    assert push.returncode != 0
    # The project already has a remote (`datasets`), so DVC suggests making one the default.
    assert "no remote specified" in push.stderr and "-r <remote name>" in push.stderr, push.stderr
    named = workspace.dvc("push", "-r", "team")
    assert named.returncode != 0
    assert "remote 'team' doesn't exist" in named.stderr, named.stderr
