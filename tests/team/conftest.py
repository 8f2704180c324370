"""A throw-away PostgreSQL cluster and the team's tracking server on it
(``summarizer tracking-server``, logins on, as the README starts it), with artifacts proxied into
a temporary directory and the README's accounts; and one tiny ``dvc repro`` against that server
as the pipeline's account, with a DVC remote (a local directory) as its default.

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(``runuser``), in a directory that user owns: pytest's own temporary directories are private to
root. All of it is shared by the session: the servers take half a minute to start, the
pipeline two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace
from tests.service.conftest import stop_process_group, wait_until_up
from tests.service.test_end_to_end import TINY
from tests.service.test_serving import free_port

PASSWORD = "team-secret"
USER = "mlflow"
DATABASE = "mlflow"
AUTH_DATABASE = "mlflow_auth"  # the users' store: its own database on the same server
ADMIN = ("admin", "admin-secret-1234")
# The README's role split: the pipeline logs runs, registers versions and moves @challenger
# (EDIT on the model); release moves @champion (MANAGE: it created the model); reader looks and
# loads (the default permission).
ACCOUNTS = {
    "pipeline": "pipeline-secret-1234",
    "release": "release-secret-1234",
    "reader": "reader-secret-1234",
}


@dataclass
class Postgres:
    """A running cluster: ``uri(...)`` builds URIs to it, right or deliberately wrong."""

    port: int

    def uri(self, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{port or self.port}/{DATABASE}"


@dataclass
class TrackingServer:
    url: str
    artifacts: Path
    postgres: Postgres
    accounts: dict[str, str] = field(default_factory=dict)  # user -> password (admin included)

    def login(self, user: str) -> tuple[str, str]:
        return user, self.accounts[user]

    def env(self, user: str | None) -> dict[str, str]:
        """A client's environment: the server as store and registry, logged in as ``user``
        (None: anonymous)."""
        # The registry too: `mlflow.set_registry_uri` in earlier tests of this process leaves
        # MLFLOW_REGISTRY_URI in os.environ, and `mlflow models serve` would read that store.
        env = {"MLFLOW_TRACKING_URI": self.url, "MLFLOW_REGISTRY_URI": self.url}
        if user is not None:
            env |= {
                "MLFLOW_TRACKING_USERNAME": user,
                "MLFLOW_TRACKING_PASSWORD": self.accounts[user],
            }
        return env

    @contextmanager
    def as_user(self, user: str) -> Iterator[None]:
        """MLflow clients made in this process inside the block log in as ``user``."""
        with pytest.MonkeyPatch.context() as patch:
            for key, value in self.env(user).items():
                patch.setenv(key, value)
            yield

    def client(self):  # -> MlflowClient; log in with as_user
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


def create_database(postgres: Postgres, name: str) -> None:
    import psycopg

    admin = postgres.uri().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")


def write_auth_config(path: Path, postgres: Postgres, default_permission: str = "READ") -> Path:
    """The README's basic_auth.ini (configs/team/basic_auth.ini filled in)."""
    users = postgres.uri().replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    path.write_text(
        "[mlflow]\n"
        f"default_permission = {default_permission}\n"
        f"database_uri = {users}/{AUTH_DATABASE}\n"
        f"admin_username = {ADMIN[0]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    return path


def set_up_accounts(url: str) -> None:
    """The README's Team setup, over MLflow's REST API: the admin creates the accounts; release
    creates the registered model (so it holds MANAGE on it) and grants the pipeline EDIT."""
    import requests

    def call(login: tuple[str, str], path: str, body: dict) -> None:
        response = requests.post(f"{url}{path}", json=body, auth=login, timeout=30)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"

    for user, password in ACCOUNTS.items():
        call(ADMIN, "/api/2.0/mlflow/users/create", {"username": user, "password": password})
    release = ("release", ACCOUNTS["release"])
    call(release, "/api/2.0/mlflow/registered-models/create", {"name": MODEL})
    grant = {
        "username": "pipeline",
        "resource_type": "registered_model",
        "resource_id": MODEL,
        "permission": "EDIT",
    }
    call(release, "/api/3.0/mlflow/users/permissions/grant", grant)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({' '.join(command)}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    missing = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser (PostgreSQL refuses to run as root)")
    if missing:
        pytest.skip(f"PostgreSQL tools not on PATH: {', '.join(missing)}")
    root = Path(tempfile.mkdtemp(prefix="summarizer-pg-"))
    password_file = root / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (root, password_file):
            shutil.chown(path, user="postgres")
    data, port = root / "data", free_port()
    # Passwords are checked even on 127.0.0.1, so a wrong one is refused as in production.
    initdb = ["initdb", "-D", str(data), "-U", USER, "--pwfile", str(password_file)]
    _run(_as_postgres([*initdb, "-E", "UTF8", "--auth=scram-sha-256"]), "initdb")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    pg_ctl = ["pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60"]
    _run(_as_postgres([*pg_ctl, "-o", options, "start"]), "pg_ctl start")
    try:
        cluster = Postgres(port)
        for database in (DATABASE, AUTH_DATABASE):
            create_database(cluster, database)
        yield cluster
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a user with the project's virtualenv first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), **extra}


@pytest.fixture(scope="session")
def tracking_server(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrackingServer]:
    root = tmp_path_factory.mktemp("tracking-server")
    artifacts = root / "artifacts"
    port = free_port()
    env = server_env(
        MLFLOW_BACKEND_STORE_URI=postgres.uri(),
        MLFLOW_ARTIFACTS_DESTINATION=str(artifacts),
        MLFLOW_AUTH_CONFIG_PATH=str(write_auth_config(root / "basic_auth.ini", postgres)),
        MLFLOW_AUTH_ADMIN_PASSWORD=ADMIN[1],
    )
    log_file = root / "server.log"
    with open(log_file, "w") as log:
        process = subprocess.Popen(
            ["summarizer", "tracking-server", "--port", str(port), "--workers", "2"],
            cwd=root,  # not a project: nothing may depend on the server's working directory
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{url}/health", log_file, "summarizer tracking-server")
        set_up_accounts(url)
        yield TrackingServer(url, artifacts, postgres, {ADMIN[0]: ADMIN[1], **ACCOUNTS})
    finally:
        stop_process_group(process)


MODEL = "team-summarizer"
PARAMS = {
    **TINY,
    "tracking": {**TINY["tracking"], "experiment": "team-pipeline"},
    "register": {**TINY["register"], "model_name": MODEL},
}


@dataclass
class Reproduced:
    workspace: Workspace
    remote: Path  # the DVC remote, a local directory
    env: dict[str, str]
    document: str  # a test document, to summarize


@pytest.fixture(scope="session")
def reproduced(
    tracking_server: TrackingServer, tmp_path_factory: pytest.TempPathFactory, datasets_dir: Path
) -> Reproduced:
    """The end-to-end test's tiny ``dvc repro``, down to register, against the server, in a
    project whose default DVC remote (committed, as a team's is) is a local directory."""
    root = tmp_path_factory.mktemp("team")
    raw = write_gigaword_slice(root / "raw" / "gigaword", train_pairs=400, test_pairs=20)
    workspace = Workspace.create(root / "repo", params={**PARAMS, "dataset": {"path": str(raw)}})
    remote = root / "dvc-remote"
    added = workspace.dvc("remote", "add", "-d", "storage", str(remote))
    assert added.returncode == 0, added.stderr
    workspace.git("commit", "-q", "-am", "team remote")
    env = tracking_server.env("pipeline")
    started = time.monotonic()
    repro = workspace.dvc("repro", env=env, timeout=1200)
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:]
    # Shown with -s: the README compares it with the same repro on the SQLite default.
    print(f"\ntiny dvc repro against {tracking_server.url}: {time.monotonic() - started:.1f} s")
    document = (raw / "test.article.txt").read_text().splitlines()[0]
    return Reproduced(workspace, remote, env, document)


@pytest.fixture(scope="session")
def pushed(reproduced: Reproduced) -> Workspace:
    """The reproduced workspace with its pipeline state committed and its outputs pushed: the
    starting point of a teammate's clone, and of experiments that reuse its cached stages."""
    workspace = reproduced.workspace
    workspace.git("add", "-A")
    workspace.git("commit", "-q", "-m", "reproduced")
    push = workspace.dvc("push")
    assert push.returncode == 0, push.stdout + push.stderr
    return workspace
