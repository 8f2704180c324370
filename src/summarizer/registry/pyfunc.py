"""The MLflow pyfunc model, logged *from code*: this file is copied into the MLflow model and run
when the model loads (``mlflow.pyfunc.load_model``, ``mlflow models serve``), instead of a pickle.

It wraps :class:`summarizer.inference.Summarizer`, the same path from raw text to summary that the
evaluate stage scores, so a served summary equals the evaluated one for the same input and options.

Input, in Python (``mlflow.pyfunc.load_model(uri).predict(...)``) and over HTTP alike:

- a list of strings: ``model.predict(["...", "..."])``; over HTTP ``{"inputs": ["...", "..."]}``;
- a ``document`` field holding one string or a list of them: ``{"document": ["...", "..."]}``;
  over HTTP ``{"inputs": {"document": [...]}}``;
- a DataFrame with a ``document`` column (other columns are ignored), or a list of records
  ``[{"document": "..."}]``; over HTTP ``{"dataframe_records": [{"document": "..."}]}`` or
  ``{"dataframe_split": {"columns": ["document"], "data": [["..."]]}}``;
- a single string.

The signature declares no input schema (:func:`model_signature` says why): every form reaches
:func:`documents_from_input` as the caller gave it, which checks each document itself.

Output: a list of summaries, one string per document in input order
(``{"predictions": ["...", "..."]}``): plain strings are the easiest to consume with curl or any
client, and nothing else per summary is worth a wider schema yet.

Decoding options are MLflow ``params`` (``{"params": {"beam_size": 1}}``) with the training run's
``evaluate.decode`` values as defaults. Bad input (no ``document``, a missing, empty or non-string
document, an unknown or invalid option) raises an ``MlflowException`` with
``INVALID_PARAMETER_VALUE``, which the scoring server turns into an HTTP 400 with the message, and
keeps serving.

Behind ``mlflow models serve`` (:func:`guard_server`) a request is also checked as it arrived,
before MLflow drops params its signature does not declare (a 400 names them) and parses
``inputs`` (``[null]``, ``[12345]``, ``[true]`` are 400s, where a string column schema, which
versions logged before issue 22 have, casts them to "None", "12345", "True"). It may ask for no
more work than the ``serve`` limits the model was logged with (rows, document length, ``beam_size``,
``max_length``: a 400), and decoding stops with a 504 once it has taken ``serve.max_seconds`` or
most of the server's own timeout, so no worker keeps computing for a client that was already
answered. A body nested deeper than any request needs (:data:`MAX_JSON_DEPTH`) is a 400 too,
before Python's JSON parser runs out of recursion. Error bodies hold the message only: no stack
trace and no echo of the request.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, set_model
from mlflow.protos.databricks_pb2 import DEADLINE_EXCEEDED, INTERNAL_ERROR, ErrorCode
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

# Absolute imports of the summarizer's serving path only: MLflow runs this file by its path, not
# as part of the package, and a serving machine has only the pinned runtime packages.
from summarizer.config import DecodeParams, ServeParams
from summarizer.errors import ConfigError, SummarizerError
from summarizer.inference import Summarizer

MODEL_ARTIFACT = "model_dir"  # key of the model directory in the pyfunc's artifacts
DOCUMENT = "document"
DECODE_CONFIG = "decode"  # key of the default decoding options in the model config
SERVE_CONFIG = "serve"  # key of the request limits (ServeParams) in the model config
# Hypotheses (documents x beam) decoded between two looks at the clock: few enough that a request
# stops soon after its time is up, enough that batching still pays.
DEADLINE_HYPOTHESES = 32
# The share of the scoring server's timeout a request may spend decoding: the rest is parsing,
# tokenizing and answering, so the client gets this model's message instead of a bare 504.
SERVER_TIMEOUT_SHARE = 0.8
# Levels of JSON arrays and objects a request body may nest. The deepest valid request has four
# ({"dataframe_split": {"data": [["..."]]}}); Python's parser fails with a RecursionError near
# 1,000, which reached the client as a 500.
MAX_JSON_DEPTH = 32

_logger = logging.getLogger(__name__)


def _invalid(message: str) -> MlflowException:
    return MlflowException.invalid_parameter_value(message)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_python(value: Any) -> Any:
    """``value`` with NumPy and pandas containers as lists (a 0-d array as its item): what
    MLflow's JSON parsing makes of a request's lists and strings."""
    if isinstance(value, (np.ndarray, pd.Series)):
        return value.tolist()
    return value


def documents_from_input(model_input: Any) -> list[str]:
    """The documents of a request, each a non-empty string, or a 400 naming what is wrong."""
    model_input = _as_python(model_input)
    if (
        isinstance(model_input, list)
        and model_input
        and all(isinstance(value, Mapping) for value in model_input)
    ):
        # Records, [{"document": ...}, ...]; over HTTP ("inputs") each value is a 0-d array.
        model_input = pd.DataFrame(
            [{key: _as_python(value) for key, value in row.items()} for row in model_input]
        )
    if isinstance(model_input, pd.DataFrame):
        if model_input.empty and DOCUMENT not in model_input.columns:
            raise _invalid("no documents to summarize")  # {"dataframe_records": []}
        if DOCUMENT not in model_input.columns:
            columns = ", ".join(map(str, model_input.columns)) or "none"
            raise _invalid(f"expected a '{DOCUMENT}' column, got columns: {columns}")
        values = model_input[DOCUMENT].tolist()
    elif isinstance(model_input, Mapping):
        if DOCUMENT not in model_input:
            keys = ", ".join(map(str, model_input)) or "none"
            raise _invalid(f"expected a '{DOCUMENT}' field, got fields: {keys}")
        value = _as_python(model_input[DOCUMENT])
        values = list(value) if isinstance(value, (list, tuple)) else [value]
    elif isinstance(model_input, str):
        values = [model_input]
    elif isinstance(model_input, (list, tuple)):
        values = list(model_input)
    else:
        raise _invalid(
            f"expected a DataFrame with a '{DOCUMENT}' column or a list of strings, "
            f"got {type(model_input).__name__}"
        )
    if not values:
        raise _invalid("no documents to summarize")
    for row, value in enumerate(values):
        if _is_missing(value):
            raise _invalid(f"{DOCUMENT} at row {row} is missing; expected a string")
        if not isinstance(value, str):
            raise _invalid(
                f"{DOCUMENT} at row {row} is of type {type(value).__name__}; expected a string"
            )
        if not value.strip():
            raise _invalid(f"{DOCUMENT} at row {row} is empty; expected text to summarize")
    return values


def decode_options(defaults: DecodeParams, params: Mapping[str, Any] | None) -> DecodeParams:
    """The request's decoding options over the model's defaults, validated like params.yaml."""
    try:
        return defaults.with_overrides(params, source="request params")
    except ConfigError as exc:
        raise _invalid(str(exc)) from None


def check_limits(documents: list[str], options: DecodeParams, limits: ServeParams) -> None:
    """A 400 naming the first thing a request asks for beyond ``limits`` (the ``serve`` section)."""
    if len(documents) > limits.max_rows:
        raise _invalid(f"{len(documents)} documents; at most {limits.max_rows} per request")
    for row, document in enumerate(documents):
        if len(document) > limits.max_document_chars:
            raise _invalid(
                f"{DOCUMENT} at row {row} has {len(document)} characters; at most "
                f"{limits.max_document_chars}"
            )
    for option, limit in (("beam_size", limits.max_beam_size), ("max_length", limits.max_length)):
        if getattr(options, option) > limit:
            raise _invalid(f"{option} {getattr(options, option)} is above this server's {limit}")


def model_signature(decode: DecodeParams) -> ModelSignature:
    """No input schema, output one summary string per document, and every decoding option as an
    optional request param whose default is ``decode``'s value.

    The input is left undeclared on purpose. MLflow enforces a column schema by first making a
    DataFrame of the input: a list of strings becomes column ``0`` and is refused for lacking
    ``document``, and ``{"document": [...]}`` becomes one row holding the whole list. An unnamed
    column would take the first column of a DataFrame whatever its name. Without a schema MLflow
    passes the input through and :func:`documents_from_input` reads every form, with messages
    naming the row; over HTTP the guard has already checked the request as it was sent."""
    kinds = {
        bool: DataType.boolean,
        int: DataType.long,
        float: DataType.double,
        str: DataType.string,
    }
    params = [
        ParamSpec(name, kinds[type(value)], value) for name, value in decode.model_dump().items()
    ]
    return ModelSignature(
        inputs=None,
        outputs=Schema([ColSpec(DataType.string)]),
        params=ParamSchema(params),
    )


@dataclass(frozen=True)
class ServedRequest:
    """The HTTP request ``predict`` is answering (see :meth:`SummarizerModel.serving`)."""

    limits: ServeParams
    deadline: float  # time.monotonic() after which decoding stops


# The guard and predict run in the same worker thread for one request (the scoring server hands
# each request to a thread), so a thread-local carries the request from one to the other.
_served = threading.local()


def served_request() -> ServedRequest | None:
    """The HTTP request ``predict`` is answering, or None for a call from Python."""
    return getattr(_served, "request", None)


class SummarizerModel(PythonModel):
    """Summaries for documents, with the decoding options of the training run as defaults."""

    def load_context(self, context: Any) -> None:
        """Load the model directory, the default decoding options and the request limits the
        model was logged with, and guard the scoring server if this process runs one."""
        self.summarizer = Summarizer.from_dir(context.artifacts[MODEL_ARTIFACT])
        config = context.model_config or {}
        self.defaults = DecodeParams.model_validate(config.get(DECODE_CONFIG) or {})
        # A model logged before the serve section existed gets the default limits.
        self.limits = ServeParams.model_validate(config.get(SERVE_CONFIG) or {})
        guard_server(sys.modules.get("mlflow.pyfunc.scoring_server"))

    def check_request(self, body: bytes | str) -> None:
        """A 400 for what MLflow would change in ``body`` before :meth:`predict` sees it."""
        check_raw_request(body, self)

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Mark the calls to :meth:`predict` inside as one HTTP request, with this model's limits
        and a deadline from now."""
        deadline = time.monotonic() + time_budget(self.limits)
        _served.request = ServedRequest(self.limits, deadline)
        try:
            yield
        finally:
            _served.request = None

    # MLflow inspects this hint: a DataFrame is one it leaves alone (no signature inferred from
    # it, no conversion). Any form documents_from_input reads is accepted.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> list[str]:
        """One summary per document, in input order; bad input or options raise a 400; over
        HTTP, a request beyond the ``serve`` limits a 400 and one out of time a 504."""
        documents = documents_from_input(model_input)
        options = decode_options(self.defaults, params)
        request = served_request()
        if request is None:
            return [summary.text for summary in self.summarizer.summarize(documents, options)]
        check_limits(documents, options, request.limits)
        summaries: list[str] = []
        chunk_size = max(1, DEADLINE_HYPOTHESES // options.beam_size)
        for start in range(0, len(documents), chunk_size):
            if time.monotonic() > request.deadline:
                raise MlflowException(
                    f"stopped after {len(summaries)} of {len(documents)} documents: out of time; "
                    "send fewer documents or a smaller beam_size or max_length",
                    error_code=DEADLINE_EXCEEDED,
                )
            chunk = documents[start : start + chunk_size]
            try:
                summaries += [s.text for s in self.summarizer.summarize(chunk, options)]
            except SummarizerError as exc:
                raise _invalid(str(exc)) from None
            except Exception:
                # MLflow turns any other exception into a 400 ("check your input"); a failure of
                # the server itself (out of memory, a bug) is the server's, so say so: a 500.
                _logger.exception("summarizing a request failed")
                raise MlflowException(
                    "internal error while summarizing; the server log has the details",
                    error_code=INTERNAL_ERROR,
                ) from None
        return summaries


def time_budget(limits: ServeParams) -> float:
    """Seconds a served request may decode: ``serve.max_seconds``, or less under a shorter
    scoring server timeout (``MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT``)."""
    return min(
        limits.max_seconds, SERVER_TIMEOUT_SHARE * MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get()
    )


def check_raw_request(body: bytes | str, model: SummarizerModel) -> None:
    """A 400 for what MLflow would silently change before ``predict`` sees it: params the
    signature does not declare (MLflow drops them) and ``inputs``/``instances`` values that are
    not strings (a string column schema casts ``null`` to "None", ``12345`` to "12345"); and for
    a body nested deeper than :data:`MAX_JSON_DEPTH`."""
    try:
        request = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _invalid(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _invalid(_too_deep_message()) from None
    if json_depth(request) > MAX_JSON_DEPTH:
        raise _invalid(_too_deep_message())
    if not isinstance(request, dict):
        return  # MLflow's own message says which keys it expects
    params = request.get("params")
    if params is not None:
        if not isinstance(params, dict):
            raise _invalid(f"params must be a JSON object, got {type(params).__name__}")
        decode_options(model.defaults, params)
    for key in ("inputs", "instances"):
        raw = request.get(key)
        # A list of records ({"document": ...}) becomes a DataFrame that predict checks.
        records = isinstance(raw, list) and any(isinstance(value, dict) for value in raw)
        if isinstance(raw, (list, dict)) and not records:
            documents_from_input(raw)


def json_depth(value: Any) -> int:
    """How many levels of lists and dicts ``value`` nests (0 for a scalar), without recursion."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, (list, dict)) else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (list, dict)))
    return deepest


def _too_deep_message() -> str:
    return (
        f"request body nests JSON arrays or objects more than {MAX_JSON_DEPTH} levels deep; "
        "a request needs at most 4"
    )


def clean_error(exc: MlflowException) -> MlflowException:
    """``exc`` with its message only: MLflow prefixes a failed prediction with the whole input
    (``Failed to predict data '...'``) and attaches a stack trace to parse errors, both of which
    a client should not see. The full error goes to the server log."""
    message = exc.message
    if message.startswith(("Failed to predict data", "Failed to enforce schema")):
        message = message.rpartition("Error: ")[2]
    if exc.json_kwargs.get("stack_trace"):
        _logger.warning("request failed: %s\n%s", exc.message, exc.json_kwargs["stack_trace"])
    return MlflowException(message.strip(), error_code=ErrorCode.Value(exc.error_code))


def guard_server(server: Any) -> None:
    """Wrap the scoring server's ``invocations`` (looked up by name for every request) so that
    each JSON request to a :class:`SummarizerModel` is checked as it arrived, carries its limits
    and deadline to ``predict``, and fails with a message and nothing else. No-op outside
    ``mlflow models serve`` (the module is not loaded) and when already wrapped."""
    if server is None or getattr(server.invocations, "summarizer_guard", False):
        return
    invocations: Callable[..., Any] = server.invocations

    def guarded(data: Any, content_type: str | None, model: Any, input_schema: Any) -> Any:
        try:
            python_model = model.unwrap_python_model()
        except Exception:  # not a PythonModel: some other flavor, not ours to guard
            python_model = None
        # Duck-typed: each load runs this file afresh, so a later model's class is another one.
        if not hasattr(python_model, "serving") or not hasattr(python_model, "check_request"):
            return invocations(data, content_type, model, input_schema)
        try:
            if (content_type or "").split(";")[0].strip() == "application/json":
                python_model.check_request(data)
            with python_model.serving():
                return invocations(data, content_type, model, input_schema)
        except MlflowException as exc:
            raise clean_error(exc) from None
        except Exception:
            _logger.exception("request failed")
            raise MlflowException(
                "internal error while summarizing; the server log has the details",
                error_code=INTERNAL_ERROR,
            ) from None

    guarded.summarizer_guard = True  # type: ignore[attr-defined]
    server.invocations = guarded


set_model(SummarizerModel())
