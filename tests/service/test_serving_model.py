"""The pyfunc class itself, without MLflow's loading: input forms, validation, decoding options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModelContext

from summarizer.config.evaluation import DecodeParams
from summarizer.config.serving import ServeParams
from summarizer.inference import Summarizer
from summarizer.registry import pip_requirements
from summarizer.registry.pyfunc import SummarizerModel, model_signature, time_budget
from summarizer.registry.request_checks import (
    MAX_JSON_DEPTH,
    check_limits,
    check_raw_request,
    decode_options,
    documents_from_input,
)
from tests.service.conftest import DECODE, gigaword_documents

DOCUMENTS = gigaword_documents(3)


@pytest.fixture(scope="module")
def model(model_dir: Path) -> SummarizerModel:
    instance = SummarizerModel()
    context = PythonModelContext({"model_dir": str(model_dir)}, {"decode": DECODE.model_dump()})
    instance.load_context(context)
    return instance


def test_every_input_form_gives_the_inference_path_summaries(
    model: SummarizerModel, model_dir: Path
) -> None:
    expected = [s.text for s in Summarizer.from_dir(model_dir).summarize(DOCUMENTS, DECODE)]
    forms = [
        pd.DataFrame({"document": DOCUMENTS, "id": [1, 2, 3]}),  # extra columns are ignored
        pd.DataFrame({"id": [1, 2, 3], "document": DOCUMENTS}),
        DOCUMENTS,
        tuple(DOCUMENTS),
        {"document": DOCUMENTS},
        [{"document": document} for document in DOCUMENTS],
        pd.Series(DOCUMENTS),
        # What MLflow's parser makes of {"inputs": [...]} and {"inputs": {"document": [...]}}.
        np.array(DOCUMENTS),
        {"document": np.array(DOCUMENTS)},
        [{"document": np.array(document)} for document in DOCUMENTS],
    ]
    for form in forms:
        assert model.predict(None, form) == expected
    assert model.predict(None, DOCUMENTS[0]) == expected[:1]
    assert model.predict(None, {"document": DOCUMENTS[1]}) == expected[1:2]
    assert model.predict(None, {"document": np.array(DOCUMENTS[2])}) == expected[2:]


def test_request_options_override_the_training_defaults(
    model: SummarizerModel, model_dir: Path
) -> None:
    greedy = DECODE.model_copy(update={"beam_size": 1, "max_length": 4})
    expected = [s.text for s in Summarizer.from_dir(model_dir).summarize(DOCUMENTS, greedy)]
    assert model.predict(None, DOCUMENTS, params={"beam_size": 1, "max_length": 4}) == expected
    assert decode_options(DECODE, None) is DECODE


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (pd.DataFrame({"text": ["a"]}), "expected a 'document' column, got columns: text"),
        ({"text": "a"}, "expected a 'document' field"),
        ([], "no documents"),
        (["fine", None], "document at row 1 is missing"),
        (pd.DataFrame({"document": ["fine", float("nan")]}), "document at row 1 is missing"),
        (["fine", 3], "document at row 1 is of type int"),
        (["  \n"], "document at row 0 is empty"),
        (42, "got int"),
        ({"document": 42}, "document at row 0 is of type int"),
        ({"document": [["a"]]}, "document at row 0 is of type list"),
        ([{"document": "fine"}, {"text": "b"}], "document at row 1 is missing"),
        (pd.DataFrame(), "no documents"),
    ],
)
def test_bad_documents_are_invalid_parameter_errors(model_input: object, message: str) -> None:
    with pytest.raises(MlflowException, match=message) as raised:
        documents_from_input(model_input)
    assert raised.value.get_http_status_code() == 400


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"beam_size": 0}, "beam_size: Input should be greater than or equal to 1"),
        ({"length_penalty": "long"}, "length_penalty: Input should be 'none', 'avg' or 'gnmt'"),
        ({"beam": 3}, r"request params: unknown option\(s\) beam; allowed: beam_size, "),
        ({"alpha": float("inf")}, r"\n  alpha: Input should be a finite number"),
        ({"alpha": float("nan")}, r"\n  alpha: Input should be a finite number"),
    ],
)
def test_bad_options_are_invalid_parameter_errors(params: dict, message: str) -> None:
    with pytest.raises(MlflowException, match=message) as raised:
        decode_options(DecodeParams(), params)
    assert raised.value.get_http_status_code() == 400


def test_signature_declares_every_decoding_option_with_its_default() -> None:
    signature = model_signature(DECODE)
    # No input schema: MLflow would turn a list of strings into column 0 and refuse it.
    assert signature.inputs is None
    defaults = {spec.name: spec.default for spec in signature.params.params}
    assert defaults == DECODE.model_dump()
    pins = pip_requirements()
    assert all("==" in pin and "+" not in pin for pin in pins)
    assert {pin.split("==")[0] for pin in pins} >= {"mlflow", "torch", "spacy", "pandas"}


def test_limits_come_from_the_model_config(model_dir: Path) -> None:
    instance = SummarizerModel()
    serve = {"max_rows": 2, "max_document_chars": 50, "max_beam_size": 3, "max_length": 9}
    config = {"decode": DECODE.model_dump(), "serve": serve}
    instance.load_context(PythonModelContext({"model_dir": str(model_dir)}, config))
    assert instance.limits == ServeParams(**serve)
    # Called from Python (summarize -m models:/...), not over HTTP: no limits apply.
    assert len(instance.predict(None, DOCUMENTS)) == 3


@pytest.mark.parametrize(
    ("documents", "update", "message"),
    [
        (["a"] * 3, {}, "3 documents; at most 2 per request"),
        (["a", "b" * 51], {}, "document at row 1 has 51 characters; at most 50"),
        (["a"], {"beam_size": 4}, "beam_size 4 is above this server's 3"),
        (["a"], {"max_length": 10}, "max_length 10 is above this server's 9"),
    ],
)
def test_work_beyond_the_limits_is_a_400(documents: list[str], update: dict, message: str) -> None:
    limits = ServeParams(max_rows=2, max_document_chars=50, max_beam_size=3, max_length=9)
    options = DecodeParams(beam_size=2, max_length=8).model_copy(update=update)
    with pytest.raises(MlflowException, match=message) as raised:
        check_limits(documents, options, limits)
    assert raised.value.get_http_status_code() == 400
    check_limits(["a", "b" * 50], DecodeParams(beam_size=3, max_length=9), limits)


def test_time_budget_stays_under_the_server_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "10")
    assert time_budget(ServeParams(max_seconds=45)) == pytest.approx(8.0)
    assert time_budget(ServeParams(max_seconds=2)) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Python's parser gives up near 1,000 levels with a RecursionError (was a 500).
        ('{"inputs": ' + "[" * 100_000 + "]" * 100_000 + "}", "more than 32 levels deep"),
        ('{"dataframe_records": ' + "[" * 33 + "]" * 33 + "}", "more than 32 levels deep"),
        # Python's json reads JSON's non-standard Infinity and NaN as floats.
        ('{"inputs": ["a b"], "params": {"alpha": Infinity}}', "alpha: Input should be a finite"),
        ('{"inputs": ["a b"], "params": {"alpha": -Infinity}}', "alpha: Input should be a finite"),
        ('{"inputs": ["a b"], "params": {"alpha": NaN}}', "alpha: Input should be a finite"),
    ],
)
def test_raw_request_too_deep_or_not_finite_is_a_400(
    model: SummarizerModel, body: str, message: str
) -> None:
    with pytest.raises(MlflowException, match=message) as raised:
        check_raw_request(body, model.defaults)
    assert raised.value.get_http_status_code() == 400
    deepest_valid = {"dataframe_split": {"columns": ["document"], "data": [["a b"]]}}
    check_raw_request(json.dumps(deepest_valid), model.defaults)
    assert MAX_JSON_DEPTH >= 4
