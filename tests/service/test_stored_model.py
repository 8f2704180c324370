"""A registered version is read as data: ``summarize`` and ``promote`` never import the code
stored with it unless ``--trust-model-code`` asks for it, and a version whose files changed in
the artifact store after registration is refused. Against a real SQLite-backed registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from summarizer import registry
from summarizer.cli import app
from summarizer.registry.logged_model import files_digest
from summarizer.registry.stored_model import DIGEST_TAG
from tests.service.conftest import (
    DECODE,
    MODEL_NAME,
    Store,
    gigaword_documents,
    register_run,
    write_params,
)

pytestmark = pytest.mark.slow

DOCUMENT = gigaword_documents(1)[0]

# What an intruder registers: the real model's files, and a module that MLflow imports to load
# it, leaving a marker behind (it could as well read the user's keys) and answering "pwned".
PLANTED_MODULE = """
import os
from pathlib import Path

import mlflow
from mlflow.models import set_model

Path(os.environ["PLANTED_MARKER"]).write_text("ran")


class Planted(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return ["pwned" for _ in range(len(model_input))]


set_model(Planted())
"""


def plant_champion(
    store: Store,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    digest: str | None,
) -> Path:
    """Log the planted module as a pyfunc with the model directory as its artifact, register
    it as a new version of the model (with ``digest`` as its digest tag, if given) and point
    ``@champion`` at it, as someone with write access to the registry could. Returns the marker
    file the module writes when it is imported."""
    import mlflow

    from summarizer.config.serving import ServeParams
    from summarizer.registry.logged_model import model_config
    from summarizer.registry.pyfunc import MODEL_ARTIFACT

    marker = tmp_path / "planted-marker"
    monkeypatch.setenv("PLANTED_MARKER", str(marker))
    code = tmp_path / "planted.py"
    code.write_text(PLANTED_MODULE)
    mlflow.set_tracking_uri(store.uri)
    mlflow.set_registry_uri(store.uri)
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code),
            artifacts={MODEL_ARTIFACT: str(model_dir)},
            model_config=model_config(DECODE, ServeParams()),
        )
    marker.unlink(missing_ok=True)  # logging ran it once here; only a teammate's load counts
    client = store.client()
    tags = {DIGEST_TAG: digest} if digest else {}
    version = client.create_model_version(
        MODEL_NAME, source=info.model_uri, model_id=info.model_id, tags=tags
    )
    client.set_registered_model_alias(MODEL_NAME, "champion", str(version.version))
    return marker


def summarize(params: Path, *extra: str):
    return CliRunner().invoke(
        app, ["summarize", DOCUMENT, "--params", str(params), "--beam-size", "1", *extra]
    )


def test_a_planted_module_never_runs_when_a_teammate_summarizes(
    store: Store, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_run(store, model_dir, 20.0)  # the team's real version 1
    params = write_params(tmp_path / "params.yaml")
    digest = files_digest(model_dir, DECODE)
    marker = plant_champion(store, model_dir, tmp_path, monkeypatch, digest)

    result = summarize(params)
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert summary and summary != "pwned", result.output  # the installed code summarized
    assert not marker.exists(), "the module stored with the version was imported"

    # The same command, asked to trust the stored code, runs it: the marker is a real witness.
    trusted = summarize(params, "--trust-model-code")
    assert trusted.exit_code == 0, trusted.output
    assert trusted.output.strip().splitlines()[-1] == "pwned"
    assert marker.read_text() == "ran"


def test_a_version_without_a_digest_is_refused_unless_trusted(
    store: Store, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_run(store, model_dir, 20.0)
    params = write_params(tmp_path / "params.yaml")
    marker = plant_champion(store, model_dir, tmp_path, monkeypatch, digest=None)

    refused = summarize(params)
    assert refused.exit_code == 1, refused.output
    message = " ".join(refused.output.split())
    assert f"no {DIGEST_TAG} recorded" in message and "--trust-model-code" in message, message
    assert "Traceback" not in refused.output
    assert not marker.exists()

    # promote and registration load versions the same way: never through the stored module.
    with pytest.raises(registry.RegistryError, match=f"no {DIGEST_TAG} recorded"):
        registry.load_model(store.uri, f"models:/{MODEL_NAME}/2")
    assert not marker.exists()


def test_a_version_whose_files_changed_in_the_artifact_store_is_refused(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    register_run(store, model_dir, 20.0)
    store.client().set_registered_model_alias(MODEL_NAME, "champion", "1")
    params = write_params(tmp_path / "params.yaml")
    assert summarize(params).exit_code == 0

    # Swap the vocabulary behind the registered version, as someone with write access to the
    # artifact store (not to the registry) could.
    (stored,) = [
        path
        for path in (store.root / "mlartifacts").rglob("target.json")
        if "artifacts" in path.parts
    ]
    stored.write_text(stored.read_text() + " ")

    refused = summarize(params)
    assert refused.exit_code == 1, refused.output
    message = " ".join(refused.output.split())
    assert "do not match the digest recorded at registration" in message, message
    assert "version 1" in message, message
