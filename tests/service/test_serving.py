"""The registered pyfunc in a fresh Python process and behind a real ``mlflow models serve``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from summarizer import registry
from summarizer.errors import SummarizerError
from summarizer.inference import Summarizer
from tests.service.conftest import (
    DECODE,
    MODEL_NAME,
    Store,
    gigaword_documents,
    stop_process_group,
    wait_until_up,
)

pytestmark = pytest.mark.slow

DOCUMENTS = gigaword_documents(4)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def expected(model_dir: Path) -> list[str]:
    return [s.text for s in Summarizer.from_dir(model_dir).summarize(DOCUMENTS, DECODE)]


def test_pyfunc_loads_and_predicts_in_a_fresh_process(
    champion: Store, expected: list[str], tmp_path: Path
) -> None:
    script = f"""
import json, sys
import mlflow, pandas as pd
model = mlflow.pyfunc.load_model("models:/{MODEL_NAME}@champion")
documents = json.load(sys.stdin)
summaries = model.predict(pd.DataFrame({{"document": documents}}))
# The shapes Python users pass: a list, a field of documents, records, one string.
forms = [
    model.predict(documents),
    model.predict({{"document": documents}}),
    model.predict([{{"document": d}} for d in documents]),
    model.predict(documents[0]) + model.predict({{"document": documents[1]}}),
]
import summarizer
print(json.dumps({{"summaries": summaries, "forms": forms, "package": summarizer.__file__}}))
"""
    env = {**os.environ, "MLFLOW_TRACKING_URI": champion.uri}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(DOCUMENTS),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # away from the repository, as on a serving machine
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["summaries"] == expected
    assert output["forms"] == [expected, expected, expected, expected[:2]]
    # The package came with the model (code_paths), not from the process's own environment.
    assert Path(output["package"]).parts[-3:-1] == ("code", "summarizer")


def test_registered_model_summarizes_in_process_with_request_options(
    champion: Store, expected: list[str], model_dir: Path
) -> None:
    """What ``summarizer summarize -m models:/...`` calls: the pyfunc, with only given options."""
    model_uri = f"models:/{MODEL_NAME}@champion"
    assert registry.summarize_with_registered_model(champion.uri, model_uri, DOCUMENTS) == expected
    greedy = DECODE.model_copy(update={"beam_size": 1, "max_length": 4})
    summaries = Summarizer.from_dir(model_dir).summarize(DOCUMENTS, greedy)
    overrides = {"beam_size": 1, "max_length": 4}
    assert registry.summarize_with_registered_model(
        champion.uri, model_uri, DOCUMENTS, overrides
    ) == [s.text for s in summaries]
    with pytest.raises(
        SummarizerError, match=rf"(?s)^{re.escape(model_uri)}: .*beam_size: Input should be"
    ):
        registry.summarize_with_registered_model(
            champion.uri, model_uri, DOCUMENTS, {"beam_size": 0}
        )
    with pytest.raises(registry.RegistryError, match="has no alias @staging"):
        registry.summarize_with_registered_model(
            champion.uri, f"models:/{MODEL_NAME}@staging", DOCUMENTS
        )


@pytest.fixture(scope="module")
def server(champion: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_file = tmp_path_factory.mktemp("serve") / "serve.log"
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    command = [
        str(mlflow_cli),
        "models",
        "serve",
        "-m",
        f"models:/{MODEL_NAME}@champion",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "--workers",
        "1",
    ]
    # The server execs ``uvicorn`` by name: the environment's bin directory must be on PATH, as
    # it is in an activated virtualenv.
    path = os.pathsep.join([str(mlflow_cli.parent), os.environ.get("PATH", "")])
    env = {**os.environ, "MLFLOW_TRACKING_URI": champion.uri, "PATH": path}
    with open(log_file, "w") as log:
        # A session of its own, so the server and its workers can be stopped together.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{url}/ping", log_file, "mlflow models serve")
        yield url
    finally:
        stop_process_group(process)


def invocations(url: str, body: object | str) -> requests.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(
        f"{url}/invocations",
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=120,
    )


def test_server_answers_good_requests(server: str, expected: list[str], model_dir: Path) -> None:
    records = invocations(server, {"dataframe_records": [{"document": d} for d in DOCUMENTS]})
    assert records.status_code == 200, records.text
    assert records.json() == {"predictions": expected}

    as_list = invocations(server, {"inputs": DOCUMENTS[:2]})
    assert as_list.status_code == 200, as_list.text
    assert as_list.json()["predictions"] == expected[:2]

    greedy = DECODE.model_copy(update={"beam_size": 1, "max_length": 4})
    with_params = invocations(
        server,
        {
            "dataframe_split": {"columns": ["document"], "data": [[d] for d in DOCUMENTS]},
            "params": {"beam_size": 1, "max_length": 4},
        },
    )
    assert with_params.status_code == 200, with_params.text
    summaries = Summarizer.from_dir(model_dir).summarize(DOCUMENTS, greedy)
    assert with_params.json()["predictions"] == [s.text for s in summaries]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dataframe_records": [{"text": "a document"}]}, "expected a 'document' column"),
        ({"dataframe_records": [{"document": None}]}, "document at row 0 is missing"),
        (
            {"dataframe_records": [{"document": "ok"}, {"document": "   "}]},
            "document at row 1 is empty",
        ),
        (
            {"dataframe_records": [{"document": 42}]},
            "document at row 0 is of type int; expected a string",
        ),
        # Checked as sent: MLflow's parser would cast these to "None", "12345" and "True".
        ({"inputs": ["fine", ""]}, "document at row 1 is empty"),
        ({"inputs": [None]}, "document at row 0 is missing"),
        ({"inputs": [12345]}, "document at row 0 is of type int"),
        ({"inputs": [True]}, "document at row 0 is of type bool"),
        # MLflow would drop an undeclared param with a warning in the server log.
        ({"inputs": ["a b"], "params": {"temperature": 0.5}}, "unknown option(s) temperature"),
        (
            {"dataframe_records": [{"document": "a b"}], "params": {"min_length": 30}},
            "min_length (30) must not exceed max_length (8)",
        ),
        # The limits of the serve section (the fixture's model has the defaults).
        ({"inputs": ["a b"], "params": {"beam_size": 11}}, "beam_size 11 is above"),
        ({"inputs": ["a b"] * 65}, "65 documents; at most 64 per request"),
        ({"dataframe_records": []}, "no documents to summarize"),
        ('{"dataframe_records": [', "valid JSON"),
        # Python's json reads Infinity; a non-finite option is refused like params.yaml's .inf.
        ('{"inputs": ["a b"], "params": {"alpha": Infinity}}', "alpha: Input should be a finite"),
        # Was a 500 (RecursionError in the server's log).
        ('{"inputs": ' + "[" * 100_000 + "]" * 100_000 + "}", "more than 32 levels deep"),
        ({"documents": ["a"]}, "dataframe_records"),
        (
            {"dataframe_records": [{"document": "a b c"}], "params": {"beam_size": 0}},
            "beam_size: Input should be greater than or equal to 1",
        ),
        (
            {"dataframe_records": [{"document": "a b c"}], "params": {"length_penalty": "long"}},
            "length_penalty",
        ),
    ],
)
def test_server_rejects_bad_requests_and_keeps_serving(
    server: str, expected: list[str], body: object, message: str
) -> None:
    response = invocations(server, body)
    assert response.status_code == 400, (response.status_code, response.text)
    assert message in response.json()["message"], response.text
    # The message only: no stack trace, and not the request echoed back.
    assert set(response.json()) <= {"error_code", "message", "sqlstate", "error_class"}
    assert "Failed to predict data" not in response.text and "Traceback" not in response.text
    after = invocations(server, {"dataframe_records": [{"document": DOCUMENTS[0]}]})
    assert after.status_code == 200 and after.json()["predictions"] == expected[:1]
