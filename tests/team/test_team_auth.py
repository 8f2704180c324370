"""Logins and permissions on the team server, started as the README says: anonymous requests
get 401, a reader looks but cannot write, the pipeline's account writes but cannot move
``@champion``, and the server will not start without a login configuration that means it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.service.test_serving import free_port
from tests.team.conftest import (
    MODEL,
    Postgres,
    Reproduced,
    TrackingServer,
    server_env,
    write_auth_config,
)

pytestmark = pytest.mark.slow

API = "/api/2.0/mlflow"


def request(server: TrackingServer, user: str | None, method: str, path: str, body: dict):
    login = server.login(user) if user else None
    return requests.request(method, f"{server.url}{path}", json=body, auth=login, timeout=30)


def writes(server: TrackingServer, run_id: str, version: str) -> dict[str, tuple[str, str, dict]]:
    """What an intruder tries: register, move an alias, delete a run, a version, the model."""
    return {
        "create experiment": ("POST", f"{API}/experiments/create", {"name": "intruder"}),
        "register a version": (
            "POST",
            f"{API}/model-versions/create",
            {"name": MODEL, "source": f"runs:/{run_id}/model", "run_id": run_id},
        ),
        "set @champion": (
            "POST",
            f"{API}/registered-models/alias",
            {"name": MODEL, "alias": "champion", "version": version},
        ),
        "set @challenger": (
            "POST",
            f"{API}/registered-models/alias",
            {"name": MODEL, "alias": "challenger", "version": version},
        ),
        "tag a version": (
            "POST",
            f"{API}/model-versions/set-tag",
            {"name": MODEL, "version": version, "key": "model_digest", "value": "0" * 64},
        ),
        "delete the run": ("POST", f"{API}/runs/delete", {"run_id": run_id}),
        "delete a version": (
            "DELETE",
            f"{API}/model-versions/delete",
            {"name": MODEL, "version": version},
        ),
        "delete the model": ("DELETE", f"{API}/registered-models/delete", {"name": MODEL}),
    }


def registered(reproduced: Reproduced) -> tuple[str, str]:
    import json

    report = json.loads((reproduced.workspace.root / "reports" / "register.json").read_text())
    assert report["registered"] is True, report["reason"]
    return report["run_id"], report["version"]


def test_anonymous_clients_can_neither_read_nor_write(
    tracking_server: TrackingServer, reproduced: Reproduced
) -> None:
    run_id, version = registered(reproduced)
    reads = {
        "search experiments": ("GET", f"{API}/experiments/search?max_results=5", {}),
        "get the model": ("GET", f"{API}/registered-models/get?name={MODEL}", {}),
    }
    for what, (method, path, body) in {**reads, **writes(tracking_server, run_id, version)}.items():
        response = request(tracking_server, None, method, path, body)
        assert response.status_code == 401, f"{what}: {response.status_code} {response.text}"
    # Health checks stay open, for load balancers and `wait_until_up`.
    assert requests.get(f"{tracking_server.url}/health", timeout=10).status_code == 200


def test_a_reader_reads_but_cannot_write(
    tracking_server: TrackingServer, reproduced: Reproduced
) -> None:
    run_id, version = registered(reproduced)
    got = request(tracking_server, "reader", "GET", f"{API}/runs/get?run_id={run_id}", {})
    assert got.status_code == 200, got.text
    for what, (method, path, body) in writes(tracking_server, run_id, version).items():
        if what == "create experiment":
            continue  # MLflow lets any account create experiments of its own (it owns them)
        response = request(tracking_server, "reader", method, path, body)
        assert response.status_code == 403, f"{what}: {response.status_code} {response.text}"
    with tracking_server.as_user("reader"):
        client = tracking_server.client()
        assert client.get_run(run_id).info.status == "FINISHED"  # nothing was deleted
        assert client.get_model_version(MODEL, version).tags["model_digest"] != "0" * 64


def test_only_manage_on_the_model_moves_champion(
    tracking_server: TrackingServer, reproduced: Reproduced
) -> None:
    _, version = registered(reproduced)
    alias = f"{API}/registered-models/alias"
    for spelling in ("champion", "Champion"):
        body = {"name": MODEL, "alias": spelling, "version": version}
        refused = request(tracking_server, "pipeline", "POST", alias, body)
        assert refused.status_code == 403, refused.text
        assert "needs MANAGE permission" in refused.text
    unset = request(
        tracking_server, "pipeline", "DELETE", alias, {"name": MODEL, "alias": "champion"}
    )
    assert unset.status_code == 403, unset.text
    # Nor may it forge the claim two promotes at once are decided by.
    claim = {"name": MODEL, "key": "promotion_claim", "value": "{}"}
    forged = request(tracking_server, "pipeline", "POST", f"{API}/registered-models/set-tag", claim)
    assert forged.status_code == 403, forged.text
    # EDIT still moves the other aliases (register moves @challenger with it).
    body = {"name": MODEL, "alias": "challenger", "version": version}
    assert request(tracking_server, "pipeline", "POST", alias, body).status_code == 200


def start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["summarizer", "tracking-server", "--port", str(free_port()), *args],
        env=server_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_server_will_not_start_without_a_login_configuration(
    postgres: Postgres, tmp_path: Path
) -> None:
    base = {
        "MLFLOW_BACKEND_STORE_URI": postgres.uri(),
        "MLFLOW_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
    }
    unset = start({**base, "MLFLOW_AUTH_CONFIG_PATH": ""})
    assert unset.returncode == 1, unset.stdout + unset.stderr
    message = " ".join(unset.stderr.split())
    assert "logins are on: set $MLFLOW_AUTH_CONFIG_PATH" in message and "--no-auth" in message

    everyone_writes = write_auth_config(tmp_path / "edit.ini", postgres, "EDIT")
    refused = start({**base, "MLFLOW_AUTH_CONFIG_PATH": str(everyone_writes)})
    assert refused.returncode == 1, refused.stdout + refused.stderr
    message = " ".join(refused.stderr.split())
    assert "default_permission = EDIT lets every account write" in message, message
    assert not (tmp_path / "artifacts").exists()


def test_the_admin_password_rotates_as_the_readme_says(tracking_server: TrackingServer) -> None:
    user, old = tracking_server.login("admin")
    new = old + "-rotated"
    current = f"{tracking_server.url}/api/2.0/mlflow/users/current"

    def rotate(password: str, to: str) -> None:
        body = {"username": user, "password": to, "current_password": password}
        response = requests.patch(
            f"{tracking_server.url}/api/2.0/mlflow/users/update-password",
            json=body,
            auth=(user, password),
            timeout=30,
        )
        assert response.status_code == 200, response.text

    rotate(old, new)
    try:
        assert requests.get(current, auth=(user, old), timeout=30).status_code == 401
        assert requests.get(current, auth=(user, new), timeout=30).status_code == 200
    finally:
        rotate(new, old)  # the session's other tests log in with the fixture's password


def test_a_beaten_version_the_pipeline_cannot_delete_is_withdrawn(
    tracking_server: TrackingServer, reproduced: Reproduced
) -> None:
    from summarizer.registry.metadata import REGISTRATION_TAG, WITHDRAWN
    from summarizer.registry.registrar import Registrar

    _, version = registered(reproduced)
    with tracking_server.as_user("pipeline"):
        client = tracking_server.client()
        best = client.get_model_version(MODEL, version)
        # What a registration that lost a race leaves: a pending version that an earlier one beats.
        beaten = client.create_model_version(
            MODEL,
            source=best.source,
            run_id=best.run_id,
            model_id=best.source.removeprefix("models:/"),
            tags={
                "metric.rougeL_f": "0.01",
                "selection_metric": "rougeL_f",
                REGISTRATION_TAG: "pending",
            },
        )
        registrar = Registrar(tracking_server.url, MODEL, "rougeL_f", greater_is_better=True)
        survival = registrar.settle(str(beaten.version))
        assert survival is not None and not survival.keeps
        kept = client.get_model_version(MODEL, str(beaten.version))
        assert kept.tags[REGISTRATION_TAG] == WITHDRAWN  # EDIT may not delete it
        challenger, _ = registrar.update_challenger(required=True)
        assert challenger != str(beaten.version)
    with tracking_server.as_user("release"):
        tracking_server.client().delete_model_version(MODEL, str(beaten.version))  # MANAGE may
