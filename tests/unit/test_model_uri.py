"""``summarize --model``: what it loads, and that nothing runs code from outside the configured
registry unless ``--trust-model-code`` asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.cli.summarize import ModelSource, model_source
from summarizer.errors import SummarizerError

# An MLflow model logged from code: loading it imports this file, which leaves a marker behind.
CRAFTED_MODEL = """
import os
from pathlib import Path

import mlflow
from mlflow.models import set_model

Path(os.environ["MARKER"]).write_text("ran")


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return ["crafted" for _ in range(len(model_input))]


set_model(Echo())
"""


@pytest.mark.parametrize(
    "model", ["models:/summarizer@champion", "models:/summarizer/3", "models:/m-0123abcd"]
)
def test_registry_uris_load_through_the_configured_registry(model: str) -> None:
    assert model_source(model) == ModelSource.registry


@pytest.mark.parametrize(
    "model",
    [
        "runs:/0123/model",
        "file:///srv/models/summarizer",
        "s3://bucket/model",
        "models://profile@databricks/summarizer/1",  # a registry other than the configured one
    ],
)
def test_other_mlflow_uris_need_trust(model: str) -> None:
    with pytest.raises(SummarizerError, match=r"runs the Python code .*--trust-model-code"):
        model_source(model)
    assert model_source(model, trust_model_code=True) == ModelSource.mlflow


def test_local_folders(tmp_path: Path) -> None:
    assert model_source(str(tmp_path)) == ModelSource.directory
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    with pytest.raises(SummarizerError, match="an MLflow model folder, not a model directory"):
        model_source(str(tmp_path))
    with pytest.raises(SummarizerError, match="neither a model directory nor a models:/"):
        model_source(str(tmp_path / "missing"))


@pytest.fixture
def crafted_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    import mlflow

    marker = tmp_path / "marker"
    monkeypatch.setenv("MARKER", str(marker))
    # Whatever the command resolves as its store must be a throw-away one.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    code = tmp_path / "crafted.py"
    code.write_text(CRAFTED_MODEL)
    model = tmp_path / "crafted"
    mlflow.pyfunc.save_model(model, python_model=str(code))
    marker.unlink(missing_ok=True)  # saving ran the file once; only loading counts below
    return model, marker


def test_file_uri_does_not_run_model_code_unless_trusted(
    crafted_model: tuple[Path, Path], tmp_path: Path
) -> None:
    model, marker = crafted_model
    for given in (model.as_uri(), str(model)):
        refused = CliRunner().invoke(app, ["summarize", "some text", "--model", given])
        assert refused.exit_code == 1, refused.output
        assert "--trust-model-code" in " ".join(refused.output.split())
        assert not marker.exists()

    trusted = CliRunner().invoke(
        app, ["summarize", "some text", "--model", model.as_uri(), "--trust-model-code"]
    )
    assert trusted.exit_code == 0, trusted.output
    assert trusted.output.splitlines()[-1] == "crafted"
    assert marker.read_text() == "ran"
