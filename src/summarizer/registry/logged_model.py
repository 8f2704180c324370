"""The model as MLflow holds it: logged from code (:mod:`.pyfunc`) into a training run once,
loaded back through the pyfunc, smoke-tested, and asked for summaries exactly as the server
would be.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.config import DecodeParams, ServeParams
from summarizer.errors import ConfigError, SummarizerError
from summarizer.registry.policy import RegistryError, smoke_problems
from summarizer.registry.stored_model import (
    StoredModel,
    hash_tree,
    load_stored_model,
    model_digest,
)
from summarizer.registry.versions import check_model_uri, get_run

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import LoggedModel
    from mlflow.models.model import ModelInfo
    from mlflow.pyfunc import PyFuncModel

MODEL_ARTIFACT_NAME = "model"  # the pyfunc's name inside the run
# Tag of a logged model: a hash of everything that went into it (model directory, decoding
# defaults, the summarizer code and the pinned requirements), so the model is logged once per run.
FINGERPRINT_TAG = "summarizer.fingerprint"

# A short news sentence for the input example and the first smoke document: any model trained on
# news headlines must turn it into a non-empty summary.
SMOKE_DOCUMENT = (
    "the european union 's finance ministers agreed on tuesday to cut the budget deficit of "
    "member states by half over the next three years , officials said ."
)
# News on unrelated topics: a working summarizer writes a different summary for each, a collapsed
# one the same few words for all (see :func:`.policy.smoke_problems`).
SMOKE_DOCUMENTS = (
    SMOKE_DOCUMENT,
    "a powerful earthquake struck off the coast of northern japan on friday , shaking buildings "
    "in tokyo and triggering a small tsunami warning .",
    "police arrested five anti-nuclear protesters thursday after they sought to disrupt loading "
    "of a french antarctic research and supply vessel .",
    "the new york yankees beat the boston red sox #-# on sunday to take a two-game lead in the "
    "american league east .",
    "oil prices rose sharply on monday as traders worried about supply disruptions in the middle "
    "east .",
    "the united nations security council voted unanimously on wednesday to extend its "
    "peacekeeping mission in lebanon for another six months .",
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


def model_config(decode: DecodeParams, serve: ServeParams) -> dict[str, Any]:
    """The pyfunc's model config: the default decoding options and the request limits."""
    from summarizer.registry import pyfunc

    return {pyfunc.DECODE_CONFIG: decode.model_dump(), pyfunc.SERVE_CONFIG: serve.model_dump()}


def files_digest(model_dir: Path, decode: DecodeParams, serve: ServeParams | None = None) -> str:
    """The digest of what a version is loaded from (:func:`.stored_model.model_digest`)."""
    return model_digest(model_dir, model_config(decode, serve or ServeParams()))


def model_fingerprint(model_dir: Path, decode: DecodeParams, serve: ServeParams) -> str:
    """A hash of what a logged model is made of: the files of ``model_dir``, the decoding
    defaults, the request limits, the summarizer's source code (it travels with the model) and
    the requirements."""
    import summarizer

    digest = hashlib.sha256()
    hash_tree(digest, Path(model_dir))
    hash_tree(digest, Path(summarizer.__file__).parent, "*.py")
    digest.update(json.dumps(decode.model_dump(), sort_keys=True).encode())
    digest.update(json.dumps(serve.model_dump(), sort_keys=True).encode())
    digest.update(json.dumps(pip_requirements()).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class LoggedModelRef:
    """A model logged into a run: its id, its ``models:/<id>`` URI, and whether this call found it
    already there instead of logging it."""

    model_id: str
    model_uri: str
    reused: bool = False


def find_logged_model(uri: str, run_id: str, fingerprint: str) -> LoggedModel | None:
    """The newest complete (READY) model of run ``run_id`` logged with ``fingerprint``."""
    from mlflow.entities import LoggedModelStatus

    mlflow_client = tracking.client(uri)
    run = get_run(uri, run_id)
    found = []
    token = None
    while True:
        page = mlflow_client.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run_id}'",
            page_token=token,
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    matching = [
        model
        for model in found
        if model.tags.get(FINGERPRINT_TAG) == fingerprint
        and model.status == LoggedModelStatus.READY
    ]
    return max(matching, key=lambda model: model.creation_timestamp, default=None)


def ensure_logged(
    uri: str,
    run_id: str,
    model_dir: Path,
    decode: DecodeParams,
    serve: ServeParams | None = None,
) -> LoggedModelRef:
    """The run's logged model of ``model_dir`` with ``decode`` and ``serve``: the one already
    there if an earlier call logged exactly this (same fingerprint, completely logged), else a
    new one. Registering a run again (a repeated or resumed ``register``) therefore adds no
    copy."""
    serve = serve or ServeParams()
    fingerprint = model_fingerprint(model_dir, decode, serve)
    existing = find_logged_model(uri, run_id, fingerprint)
    if existing is not None:
        return LoggedModelRef(existing.model_id, f"models:/{existing.model_id}", reused=True)
    info = log_model(uri, run_id, model_dir, decode, serve, tags={FINGERPRINT_TAG: fingerprint})
    return LoggedModelRef(info.model_id, info.model_uri)


def log_model(
    uri: str,
    run_id: str,
    model_dir: Path,
    decode: DecodeParams,
    serve: ServeParams | None = None,
    tags: Mapping[str, str] | None = None,
) -> ModelInfo:
    """Log the model directory as a pyfunc from code into an existing run, with ``decode`` as
    its default decoding options, ``serve`` as the limits ``mlflow models serve`` applies to a
    request, and ``tags`` on the logged model; the run keeps the status it had. Every call logs
    another copy: :func:`ensure_logged` logs only what is not there yet."""
    import mlflow
    from mlflow.exceptions import MlflowException

    import summarizer
    from summarizer.registry import pyfunc

    serve = serve or ServeParams()
    try:
        pyfunc.check_limits([], decode, serve)
    except MlflowException as exc:
        # A default the limits refuse would make every served request without options a 400.
        raise ConfigError(
            f"evaluate.decode does not fit the serve section: {exc.message}"
        ) from None

    use_store(uri)
    status = get_run(uri, run_id).info.status
    mlflow.start_run(run_id=run_id)
    try:
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT_NAME,
            python_model=pyfunc.__file__,
            artifacts={pyfunc.MODEL_ARTIFACT: str(model_dir)},
            model_config=model_config(decode, serve),
            signature=pyfunc.model_signature(decode),
            input_example=documents_frame([SMOKE_DOCUMENT]),
            pip_requirements=pip_requirements(),
            # The package travels with the model, so a serving machine needs only the pinned
            # requirements, and serves the code this model was trained and evaluated with.
            code_paths=[str(Path(summarizer.__file__).parent)],
            tags=dict(tags or {}),
        )
    finally:
        # Resuming the run marked it RUNNING; give it back the status training left it in.
        mlflow.end_run(status=status if status in ("FINISHED", "FAILED", "KILLED") else "FINISHED")
    return info


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


def smoke_summaries(model: StoredModel | PyFuncModel) -> list[str]:
    """Summaries of :data:`SMOKE_DOCUMENTS` through the full pyfunc path, or an error saying the
    prediction failed or did not return one string per document."""
    try:
        output = model.predict(documents_frame(SMOKE_DOCUMENTS))
    except Exception as exc:
        raise RegistryError(f"smoke prediction failed: {tracking.first_line(exc)}") from None
    if (
        not isinstance(output, list)
        or len(output) != len(SMOKE_DOCUMENTS)
        or not all(isinstance(summary, str) for summary in output)
    ):
        raise RegistryError(
            f"smoke prediction returned {output!r}; expected {len(SMOKE_DOCUMENTS)} summaries"
        )
    return output


def smoke_test(model: StoredModel | PyFuncModel) -> str:
    """Smoke predictions through the full pyfunc path on news about unrelated topics; the first
    summary, or an error saying what failed: the prediction, an empty or one-word-repeated
    summary, or the same few words for every document (:func:`.policy.smoke_problems`)."""
    summaries = smoke_summaries(model)
    problems = smoke_problems(SMOKE_DOCUMENTS, summaries)
    if problems:
        raise RegistryError(
            f"smoke prediction does not look like a summarizer: {'; '.join(problems)} "
            f"(summaries: {summaries!r})"
        )
    return summaries[0]


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
