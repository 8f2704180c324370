"""The guard around MLflow's private ``scoring_server.invocations``: the installed MLflow is the one
it was reviewed against, pyproject.toml accepts no other, and MLflow's real scoring app (what
``mlflow models serve`` runs) still behaves the way the guard relies on. Small pyfuncs stand in
for the summarizer so the checks take seconds; test_serving_limits runs the real model."""

from __future__ import annotations

import inspect
import json
import re
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel, scoring_server
from mlflow.version import VERSION as MLFLOW_VERSION
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from summarizer.registry import scoring_server_hook as hook
from tests.conftest import REPO_ROOT

_request = threading.local()


class PlainModel(PythonModel):
    """Any pyfunc: fails the way its input asks, so MLflow's own error bodies show."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> list[str]:
        values = [str(value) for value in np.asarray(model_input).ravel()]
        if "refuse" in values:
            raise MlflowException.invalid_parameter_value("refused document")
        if "crash" in values:
            raise RuntimeError("crashed")
        return ["ok"] * len(values)


class GuardedModel(PlainModel):
    """The hooks the guard looks for on SummarizerModel: it records what reaches them."""

    bodies: ClassVar[list[Any]] = []  # on the class: the instance MLflow loads shares it

    def check_request(self, body: bytes | str) -> None:
        self.bodies.append(body)
        if b"explode" in body:
            raise RuntimeError("a bug in the request checks")
        if b"undeclared" in body:
            raise MlflowException.invalid_parameter_value("undeclared param")

    @contextmanager
    def serving(self) -> Iterator[None]:
        _request.active = True
        try:
            yield
        finally:
            _request.active = False

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> list[str]:
        answers = super().predict(context, model_input, params)
        # "serving" only if predict runs in the thread the guard opened serving() in.
        return ["serving" if getattr(_request, "active", False) else "outside"] * len(answers)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    import mlflow

    hook.guard_server(scoring_server)
    clients = {}
    with pytest.MonkeyPatch.context() as patch:
        # init marks the process as serving: setenv records the value before, restored after.
        patch.setenv("_MLFLOW_IS_IN_SERVING_ENVIRONMENT", "false")
        for name, model in (("plain", PlainModel()), ("guarded", GuardedModel())):
            path = tmp_path_factory.mktemp(name) / "model"
            mlflow.pyfunc.save_model(path, python_model=model, pip_requirements=[])
            app = scoring_server.init(mlflow.pyfunc.load_model(str(path)))
            clients[name] = TestClient(app)
        yield clients


def invoke(client: TestClient, body: str, content_type: str = "application/json") -> Any:
    return client.post("/invocations", content=body, headers={"Content-Type": content_type})


def test_wrapped_functions_are_the_reviewed_ones() -> None:
    changed = hook.changed_functions(scoring_server)
    if changed:
        pytest.fail(
            f"{hook.unreviewed_message(changed)}. Re-read them against the list in the docstring "
            f"of {hook.__file__}, then update REVIEWED_SOURCES, REVIEWED_MLFLOW and the mlflow "
            "range in pyproject.toml."
        )
    original = inspect.unwrap(scoring_server.invocations)
    parameters = list(inspect.signature(original).parameters)
    assert parameters == ["data", "content_type", "model", "input_schema"], (
        f"MLflow {MLFLOW_VERSION}: scoring_server.invocations takes {parameters}"
    )


def test_declared_mlflow_range_is_the_reviewed_one() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [Requirement(line) for line in pyproject["project"]["dependencies"]]
    (mlflow,) = [requirement for requirement in requirements if requirement.name == "mlflow"]
    supported = SpecifierSet(hook.SUPPORTED_MLFLOW)
    assert mlflow.specifier == supported, f"pyproject.toml says {mlflow}; reviewed: {supported}"
    assert "auth" in mlflow.extras
    assert hook.REVIEWED_MLFLOW in supported
    assert MLFLOW_VERSION in supported, (
        f"MLflow {MLFLOW_VERSION} is installed; supported: {supported}"
    )
    constraints = (REPO_ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^(mlflow(?:-skinny|-tracing)?)==(\S+)", constraints, re.MULTILINE))
    assert set(pins) == {"mlflow", "mlflow-skinny", "mlflow-tracing"}
    assert all(version in supported for version in pins.values()), pins
    assert len(set(pins.values())) == 1, pins


def test_mlflow_still_echoes_the_input_and_the_stack_trace(clients: dict[str, TestClient]) -> None:
    """What the guard strips: if MLflow stops doing it, the guard's clean_error may go too."""
    failed = invoke(clients["plain"], json.dumps({"inputs": ["refuse"]}))
    assert failed.status_code == 400
    assert failed.json()["message"].startswith("Failed to predict data '['refuse']'")
    crashed = invoke(clients["plain"], json.dumps({"inputs": ["crash"]}))
    assert crashed.status_code == 400
    assert "RuntimeError: crashed" in crashed.json()["stack_trace"]


def test_guard_sees_the_raw_body_and_predict_runs_inside_serving(
    clients: dict[str, TestClient],
) -> None:
    body = json.dumps({"inputs": ["a", "b"], "params": {"x": None}})
    GuardedModel.bodies.clear()
    answer = invoke(clients["guarded"], body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": ["serving", "serving"]}
    assert GuardedModel.bodies == [body.encode()]  # as sent, before MLflow parsed or dropped
    # Only JSON bodies are checked; every request is served with its deadline.
    csv = invoke(clients["guarded"], "0\na\n", content_type="text/csv")
    assert csv.json() == {"predictions": ["serving"]}
    assert GuardedModel.bodies == [body.encode()]
    # A model without the hooks is left to MLflow: predict runs outside any serving().
    assert invoke(clients["plain"], body).json() == {"predictions": ["ok", "ok"]}


@pytest.mark.parametrize(
    ("inputs", "status", "message"),
    [
        ("undeclared", 400, "undeclared param"),  # refused by check_request
        ("refuse", 400, "refused document"),  # raised by predict
        ("crash", 400, "Encountered an unexpected error while evaluating the model"),
        ("explode", 500, "internal error while summarizing; the server log has the details"),
    ],
)
def test_guarded_errors_carry_the_message_only(
    clients: dict[str, TestClient], inputs: str, status: int, message: str
) -> None:
    answer = invoke(clients["guarded"], json.dumps({"inputs": [inputs]}))
    assert answer.status_code == status, answer.text
    assert answer.json()["message"].startswith(message)
    assert "stack_trace" not in answer.json()
    assert "Failed to predict data" not in answer.text


def test_guard_is_installed_once_and_keeps_the_original() -> None:
    original = inspect.unwrap(scoring_server.invocations)
    hook.guard_server(scoring_server)
    guarded = scoring_server.invocations
    hook.guard_server(scoring_server)
    hook.guard_server(None)  # no scoring server in this process: nothing to do
    assert scoring_server.invocations is guarded is not original
    assert inspect.unwrap(guarded) is original
    assert hook.source_fingerprint(guarded) == hook.source_fingerprint(original)
