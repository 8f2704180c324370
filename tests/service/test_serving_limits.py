"""The scoring server's guard, in process: MLflow's real FastAPI app (``scoring_server.init``, what
``mlflow models serve`` runs) around the pyfunc saved with ``serve`` limits in its model config,
called through a test client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from summarizer.config.serving import ServeParams
from summarizer.inference import Summarizer
from tests.service.conftest import DECODE, gigaword_documents

pytestmark = pytest.mark.slow

DOCUMENTS = gigaword_documents(3)
LIMITS = ServeParams(
    max_rows=40, max_document_chars=2000, max_beam_size=4, max_length=200, max_seconds=0.3
)


@pytest.fixture(scope="module")
def client(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    import mlflow
    from mlflow.pyfunc import scoring_server  # loaded first, as in the server: the guard needs it

    from summarizer.registry import pyfunc

    path = tmp_path_factory.mktemp("served") / "model"
    # What log_model stores, written locally: the limits travel in the model config.
    mlflow.pyfunc.save_model(
        path,
        python_model=pyfunc.__file__,
        artifacts={pyfunc.MODEL_ARTIFACT: str(model_dir)},
        model_config={pyfunc.DECODE_CONFIG: DECODE.model_dump(), "serve": LIMITS.model_dump()},
        signature=pyfunc.model_signature(DECODE),
        pip_requirements=[],
    )
    with TestClient(scoring_server.init(mlflow.pyfunc.load_model(str(path)))) as test_client:
        yield test_client


def invoke(client: TestClient, body: object) -> tuple[int, dict]:
    response = client.post(
        "/invocations", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    return response.status_code, response.json()


def test_good_request_is_answered(client: TestClient, model_dir: Path) -> None:
    expected = [s.text for s in Summarizer.from_dir(model_dir).summarize(DOCUMENTS, DECODE)]
    assert invoke(client, {"inputs": DOCUMENTS}) == (200, {"predictions": expected})
    # Without an input schema MLflow passes these on as parsed: 0-d arrays, lists of them.
    assert invoke(client, {"inputs": {"document": DOCUMENTS}}) == (200, {"predictions": expected})
    records = [{"document": document} for document in DOCUMENTS]
    assert invoke(client, {"inputs": records}) == (200, {"predictions": expected})
    assert invoke(client, {"inputs": {"document": DOCUMENTS[0]}}) == (
        200,
        {"predictions": expected[:1]},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": ["a b"], "params": {"temperature": 1.0}}, "unknown option(s) temperature"),
        ({"inputs": [None]}, "document at row 0 is missing"),
        ({"inputs": ["fine", 12345]}, "document at row 1 is of type int"),
        ({"inputs": [True]}, "document at row 0 is of type bool"),
        ({"inputs": {"document": [None]}}, "document at row 0 is missing"),
        ({"inputs": ["a b"], "params": ["beam_size"]}, "params must be a JSON object"),
        ({"inputs": ["a"] * 41}, "41 documents; at most 40 per request"),
        ({"inputs": ["ok", "a " * 1001]}, "document at row 1 has 2002 characters; at most 2000"),
        ({"inputs": ["a b"], "params": {"beam_size": 5}}, "beam_size 5 is above this server's 4"),
        ({"inputs": ["a b"], "params": {"max_length": 201}}, "max_length 201 is above"),
        (
            {"dataframe_records": [{"document": "a b"}], "params": {"min_length": 30}},
            "min_length (30) must not exceed max_length (8)",
        ),
    ],
)
def test_refused_with_a_message_and_nothing_else(
    client: TestClient, body: object, message: str
) -> None:
    status, answer = invoke(client, body)
    assert status == 400, answer
    assert message in answer["message"]
    # Neither a stack trace nor the request echoed back (MLflow prefixes both by default).
    assert "stack_trace" not in answer and "Traceback" not in json.dumps(answer)
    assert "Failed to predict data" not in answer["message"]


def test_request_out_of_time_stops_decoding(client: TestClient) -> None:
    documents = gigaword_documents(40)
    # Every summary as long as allowed: far more than 0.3 s of decoding for 40 documents.
    params = {"beam_size": 4, "max_length": 200, "min_length": 200}
    status, answer = invoke(client, {"inputs": documents, "params": params})
    assert status == 504, answer
    assert "of 40 documents: out of time" in answer["message"]
    assert not answer["message"].startswith("stopped after 40 ")
