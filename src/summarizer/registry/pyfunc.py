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
:func:`.request_checks.documents_from_input` as the caller gave it, which checks each document.

Output: a list of summaries, one string per document in input order
(``{"predictions": ["...", "..."]}``): plain strings are the easiest to consume with curl or any
client, and nothing else per summary is worth a wider schema yet.

Decoding options are MLflow ``params`` (``{"params": {"beam_size": 1}}``) with the training run's
``evaluate.decode`` values as defaults. Bad input (no ``document``, a missing, empty or non-string
document, an unknown or invalid option) raises an ``MlflowException`` with
``INVALID_PARAMETER_VALUE``, which the scoring server turns into an HTTP 400 with the message, and
keeps serving.

Behind ``mlflow models serve`` a request is also checked as it arrived (:mod:`.scoring_server_hook`
says how and why), before MLflow drops params its signature does not declare (a 400 names them)
and parses ``inputs`` (``[null]``, ``[12345]``, ``[true]`` are 400s, where a string column schema,
which versions logged before issue 22 have, casts them to "None", "12345", "True"). It may ask for
no more work than the ``serve`` limits the model was logged with (rows, document length,
``beam_size``, ``max_length``: a 400), and decoding stops with a 504 once it has taken
``serve.max_seconds`` or most of the server's own timeout, so no worker keeps computing for a
client that was already answered. A body nested deeper than any request needs
(:data:`.request_checks.MAX_JSON_DEPTH`) is a 400 too, before Python's JSON parser runs out of
recursion. Error bodies hold the message only: no stack trace and no echo of the request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, set_model
from mlflow.protos.databricks_pb2 import DEADLINE_EXCEEDED, INTERNAL_ERROR
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

# Absolute imports: MLflow runs this file by its path, not as part of the package. The package
# travels with the model (code_paths); a serving machine has only the pinned runtime packages.
from summarizer.config.evaluation import DecodeParams
from summarizer.config.serving import ServeParams
from summarizer.errors import SummarizerError
from summarizer.inference import Summarizer

# DOCUMENT is re-exported: logging a model names the input column by it.
from summarizer.registry.request_checks import DOCUMENT as DOCUMENT
from summarizer.registry.request_checks import (
    check_limits,
    check_raw_request,
    decode_options,
    documents_from_input,
)
from summarizer.registry.scoring_server_hook import guard_running_server

MODEL_ARTIFACT = "model_dir"  # key of the model directory in the pyfunc's artifacts
DECODE_CONFIG = "decode"  # key of the default decoding options in the model config
SERVE_CONFIG = "serve"  # key of the request limits (ServeParams) in the model config
# Hypotheses (documents x beam) decoded between two looks at the clock: few enough that a request
# stops soon after its time is up, enough that batching still pays.
DEADLINE_HYPOTHESES = 32
# The share of the scoring server's timeout a request may spend decoding: the rest is parsing,
# tokenizing and answering, so the client gets this model's message instead of a bare 504.
SERVER_TIMEOUT_SHARE = 0.8

_logger = logging.getLogger(__name__)


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
# each request to a thread: :mod:`.scoring_server_hook` lists what the guard relies on in MLflow),
# so a thread-local carries the request from one to the other.
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
        guard_running_server()

    def check_request(self, body: bytes | str) -> None:
        """A 400 for what MLflow would change in ``body`` before :meth:`predict` sees it."""
        check_raw_request(body, self.defaults)

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
                raise MlflowException.invalid_parameter_value(str(exc)) from None
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


set_model(SummarizerModel())
