"""The MLflow pyfunc model, logged *from code*: this file is copied into the MLflow model and run
when the model loads (``mlflow.pyfunc.load_model``, ``mlflow models serve``), instead of a pickle.

It wraps :class:`summarizer.inference.Summarizer`, the same path from raw text to summary that the
evaluate stage scores, so a served summary equals the evaluated one for the same input and options.

Input:

- a DataFrame with a ``document`` column: ``model.predict(pd.DataFrame({"document": [...]}))``;
  over HTTP ``{"dataframe_records": [{"document": "..."}]}`` or
  ``{"dataframe_split": {"columns": ["document"], "data": [["..."]]}}``;
- a list of strings over HTTP: ``{"inputs": ["...", "..."]}`` (MLflow maps it onto the one
  ``document`` column). MLflow's parser casts ``inputs`` values to the declared string type before
  the model sees them, so only the dataframe formats reject a number or ``null`` with a 400. In
  Python, MLflow's signature check turns a bare list into column ``0`` and rejects it: wrap it in
  a DataFrame.

Output: a list of summaries, one string per document in input order
(``{"predictions": ["...", "..."]}``): plain strings are the easiest to consume with curl or any
client, and nothing else per summary is worth a wider schema yet.

Decoding options are MLflow ``params`` (``{"params": {"beam_size": 1}}``) with the training run's
``evaluate.decode`` values as defaults. Bad input (no ``document``, a missing, empty or non-string
document, an invalid option) raises an ``MlflowException`` with ``INVALID_PARAMETER_VALUE``, which
the scoring server turns into an HTTP 400 with the message, and keeps serving.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, set_model
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

# Absolute imports of the summarizer's serving path only: MLflow runs this file by its path, not
# as part of the package, and a serving machine has only the pinned runtime packages.
from summarizer.config import DecodeParams
from summarizer.errors import ConfigError
from summarizer.inference import Summarizer

MODEL_ARTIFACT = "model_dir"  # key of the model directory in the pyfunc's artifacts
DOCUMENT = "document"
DECODE_CONFIG = "decode"  # key of the default decoding options in the model config


def _invalid(message: str) -> MlflowException:
    return MlflowException.invalid_parameter_value(message)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def documents_from_input(model_input: Any) -> list[str]:
    """The documents of a request, each a non-empty string, or a 400 naming what is wrong."""
    if isinstance(model_input, pd.DataFrame):
        if DOCUMENT not in model_input.columns:
            columns = ", ".join(map(str, model_input.columns)) or "none"
            raise _invalid(f"expected a '{DOCUMENT}' column, got columns: {columns}")
        values = model_input[DOCUMENT].tolist()
    elif isinstance(model_input, Mapping):
        if DOCUMENT not in model_input:
            keys = ", ".join(map(str, model_input)) or "none"
            raise _invalid(f"expected a '{DOCUMENT}' field, got fields: {keys}")
        value = model_input[DOCUMENT]
        values = [value] if isinstance(value, str) else list(value)
    elif isinstance(model_input, str):
        values = [model_input]
    elif isinstance(model_input, (list, tuple, pd.Series)):
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


def model_signature(decode: DecodeParams) -> ModelSignature:
    """Input ``document`` (string), output one summary string per document, and every decoding
    option as an optional request param whose default is ``decode``'s value."""
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
        inputs=Schema([ColSpec(DataType.string, DOCUMENT)]),
        outputs=Schema([ColSpec(DataType.string)]),
        params=ParamSchema(params),
    )


class SummarizerModel(PythonModel):
    """Summaries for documents, with the decoding options of the training run as defaults."""

    def load_context(self, context: Any) -> None:
        """Load the model directory and the default decoding options the model was logged with."""
        self.summarizer = Summarizer.from_dir(context.artifacts[MODEL_ARTIFACT])
        config = (context.model_config or {}).get(DECODE_CONFIG) or {}
        self.defaults = DecodeParams.model_validate(config)

    # MLflow inspects this hint; a DataFrame (what the signature makes MLflow pass) keeps it
    # from adding a type-hint based conversion on top of the signature's checks.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> list[str]:
        """One summary per document, in input order; bad input or options raise a 400."""
        documents = documents_from_input(model_input)
        options = decode_options(self.defaults, params)
        return [summary.text for summary in self.summarizer.summarize(documents, options)]


set_model(SummarizerModel())
