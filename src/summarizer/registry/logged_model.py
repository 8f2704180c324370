"""The model as MLflow holds it: logged from code (:mod:`.pyfunc`) into a training run, loaded
back through the pyfunc, smoke-tested, and asked for summaries exactly as the server would be.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.config import DecodeParams
from summarizer.errors import SummarizerError
from summarizer.registry.policy import RegistryError
from summarizer.registry.versions import check_model_uri, get_run

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models.model import ModelInfo
    from mlflow.pyfunc import PyFuncModel

MODEL_ARTIFACT_NAME = "model"  # the pyfunc's name inside the run

# A short news sentence for the input example and the promotion smoke test: any model trained on
# news headlines must turn it into a non-empty summary.
SMOKE_DOCUMENT = (
    "the european union 's finance ministers agreed on tuesday to cut the budget deficit of "
    "member states by half over the next three years , officials said ."
)

# What the serving process imports (``summarizer.inference`` and below), pinned to the versions
# installed here, which are the versions the model was trained and evaluated with.
RUNTIME_PACKAGES = ("mlflow", "torch", "numpy", "pandas", "spacy", "pydantic", "pyyaml", "tqdm")


def pip_requirements() -> list[str]:
    """``package==version`` for the serving runtime, as installed in this environment."""
    pins = []
    for package in RUNTIME_PACKAGES:
        version = metadata.version(package)
        # A local label such as torch's "+cpu" names a build on a separate index; pip on another
        # machine could not resolve it, and any build of the same release loads the weights.
        pins.append(f"{package}=={version.split('+')[0]}")
    return pins


def documents_frame(documents: Sequence[str]) -> pd.DataFrame:
    """The pyfunc's input for ``documents``: one row per document in its input column."""
    import pandas as pd

    # Imported here, not at the top: the pyfunc module imports torch through the summarizer,
    # which only the callers that load or log a model need.
    from summarizer.registry import pyfunc

    return pd.DataFrame({pyfunc.DOCUMENT: list(documents)})


def use_store(uri: str) -> None:
    """Point MLflow's module-level API (model logging and loading) at the store."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def log_model(uri: str, run_id: str, model_dir: Path, decode: DecodeParams) -> ModelInfo:
    """Log the model directory as a pyfunc from code into an existing run, with ``decode`` as
    its default decoding options; the run keeps the status it had."""
    import mlflow

    import summarizer
    from summarizer.registry import pyfunc

    use_store(uri)
    status = get_run(uri, run_id).info.status
    mlflow.start_run(run_id=run_id)
    try:
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT_NAME,
            python_model=pyfunc.__file__,
            artifacts={pyfunc.MODEL_ARTIFACT: str(model_dir)},
            model_config={pyfunc.DECODE_CONFIG: decode.model_dump()},
            signature=pyfunc.model_signature(decode),
            input_example=documents_frame([SMOKE_DOCUMENT]),
            pip_requirements=pip_requirements(),
            # The package travels with the model, so a serving machine needs only the pinned
            # requirements, and serves the code this model was trained and evaluated with.
            code_paths=[str(Path(summarizer.__file__).parent)],
        )
    finally:
        # Resuming the run marked it RUNNING; give it back the status training left it in.
        mlflow.end_run(status=status if status in ("FINISHED", "FAILED", "KILLED") else "FINISHED")
    return info


def load_model(uri: str, model_uri: str) -> PyFuncModel:
    """The pyfunc behind ``model_uri`` (``models:/...``, ``runs:/...``) in the store at ``uri``."""
    import mlflow

    use_store(uri)
    return mlflow.pyfunc.load_model(model_uri)


def smoke_test(model: PyFuncModel) -> str:
    """One prediction through the full pyfunc path; the summary, or an error saying what failed."""
    try:
        output = model.predict(documents_frame([SMOKE_DOCUMENT]))
    except Exception as exc:
        raise RegistryError(f"smoke prediction failed: {tracking.first_line(exc)}") from None
    if (
        not isinstance(output, list)
        or len(output) != 1
        or not isinstance(output[0], str)
        or not output[0].strip()
    ):
        raise RegistryError(f"smoke prediction returned {output!r}; expected one non-empty summary")
    return output[0]


def summarize_with_registered_model(
    uri: str,
    model_uri: str,
    documents: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
) -> list[str]:
    """Summaries of ``documents`` from the model behind ``model_uri``, through its pyfunc exactly
    as served. ``overrides`` are request params: only the decoding options given, the rest are
    the model's own defaults. A missing model, alias or version is a :class:`RegistryError`; a
    model that will not load or a rejected request is an error naming ``model_uri``."""
    from mlflow.exceptions import MlflowException

    check_model_uri(uri, model_uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        model = load_model(uri, model_uri)
    except MlflowException as exc:
        raise RegistryError(f"{model_uri}: cannot load: {exc.message}") from None
    try:
        return model.predict(documents_frame(documents), params=dict(overrides or {}) or None)
    except MlflowException as exc:
        raise SummarizerError(f"{model_uri}: {exc.message}") from None
