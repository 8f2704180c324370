"""What a request to the pyfunc may ask for: its documents, its decoding options and the ``serve``
limits, each refused with an ``INVALID_PARAMETER_VALUE`` ``MlflowException`` (an HTTP 400 from the
scoring server) whose message names what is wrong.

:func:`documents_from_input`, :func:`decode_options` and :func:`check_limits` check what
``predict`` receives, from Python and over HTTP alike. :func:`check_raw_request` checks an HTTP
body as it arrived (see :mod:`.scoring_server_hook` for why that needs a hook into MLflow).

Imported by the pyfunc file MLflow runs by its path, so absolute imports of the serving path only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from summarizer.config.evaluation import DecodeParams
from summarizer.config.serving import ServeParams
from summarizer.errors import ConfigError

DOCUMENT = "document"
# Levels of JSON arrays and objects a request body may nest. The deepest valid request has four
# ({"dataframe_split": {"data": [["..."]]}}); Python's parser fails with a RecursionError near
# 1,000, which reached the client as a 500.
MAX_JSON_DEPTH = 32


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


def check_raw_request(body: bytes | str, defaults: DecodeParams) -> None:
    """A 400 for what MLflow would silently change before ``predict`` sees it: params the
    signature does not declare (MLflow drops them) and ``inputs``/``instances`` values that are
    not strings (a string column schema casts ``null`` to "None", ``12345`` to "12345"); and for
    a body nested deeper than :data:`MAX_JSON_DEPTH`. ``defaults`` are the model's decoding
    options, which the request's params override."""
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
        decode_options(defaults, params)
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
