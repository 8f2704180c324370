"""A logged or registered model loaded back and asked for summaries exactly as the server would
be: through the pyfunc's code, on the version's files (:mod:`.stored_model`), or, only when the
user trusts it, through the code stored with it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from summarizer.errors import SummarizerError
from summarizer.registry.errors import RegistryError
from summarizer.registry.stored_model import StoredModel, load_stored_model, use_store
from summarizer.registry.versions import check_model_uri

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.pyfunc import PyFuncModel


def documents_frame(documents: Sequence[str]) -> pd.DataFrame:
    """The pyfunc's input for ``documents``: one row per document in its input column."""
    import pandas as pd

    # Imported here, not at the top: the pyfunc module imports torch through the summarizer,
    # which only the callers that load or log a model need.
    from summarizer.registry import pyfunc

    return pd.DataFrame({pyfunc.DOCUMENT: list(documents)})


def load_model(
    uri: str,
    model_uri: str,
    expected_digest: str | None = None,
    trust_model_code: bool = False,
) -> StoredModel | PyFuncModel:
    """The model behind ``model_uri`` in the store at ``uri``: read from its data files and
    checked against its digest (:func:`.stored_model.load_stored_model`), or, only with
    ``trust_model_code``, through ``mlflow.pyfunc.load_model``, which imports the code stored
    with it. Either predicts with ``predict(frame, params=...)``."""
    if not trust_model_code:
        return load_stored_model(uri, model_uri, expected_digest)
    import mlflow

    use_store(uri)
    return mlflow.pyfunc.load_model(model_uri)


def summarize_with_registered_model(
    uri: str,
    model_uri: str,
    documents: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
    trust_model_code: bool = False,
) -> list[str]:
    """Summaries of ``documents`` from the model behind ``model_uri``, through the pyfunc's
    code exactly as served: the installed code on the version's files, or, with
    ``trust_model_code``, the code stored with it. ``overrides`` are request params: only the
    decoding options given, the rest are the model's own defaults. A missing model, alias or
    version is a :class:`RegistryError`; a model that will not load or a rejected request is an
    error naming ``model_uri``."""
    from mlflow.exceptions import MlflowException

    check_model_uri(uri, model_uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        model = load_model(uri, model_uri, trust_model_code=trust_model_code)
    except MlflowException as exc:
        raise RegistryError(f"{model_uri}: cannot load: {exc.message}") from None
    try:
        return model.predict(documents_frame(documents), params=dict(overrides or {}) or None)
    except MlflowException as exc:
        raise SummarizerError(f"{model_uri}: {exc.message}") from None
