"""The model as MLflow holds it: logged from code (:mod:`.pyfunc`) into a training run, once per
run and content (found again by its fingerprint), with the decoding defaults and request limits
it is served with. Loading it back is :mod:`.loading`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.config.evaluation import DecodeParams
from summarizer.config.serving import ServeParams
from summarizer.errors import ConfigError
from summarizer.registry.loading import documents_frame
from summarizer.registry.smoke import SMOKE_DOCUMENT
from summarizer.registry.stored_model import hash_tree, model_digest, use_store
from summarizer.registry.versions import get_run

if TYPE_CHECKING:
    from mlflow.entities import LoggedModel
    from mlflow.models.model import ModelInfo

MODEL_ARTIFACT_NAME = "model"  # the pyfunc's name inside the run
# Tag of a logged model: a hash of everything that went into it (model directory, decoding
# defaults, the summarizer code and the pinned requirements), so the model is logged once per run.
FINGERPRINT_TAG = "summarizer.fingerprint"

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
    """Log the model directory as a pyfunc from code, as an output of an existing run, with
    ``decode`` as its default decoding options and ``serve`` as the limits ``mlflow models
    serve`` applies to a request (in the model, not as run params), and ``tags`` on the logged
    model; the run is not reopened. Every call logs another copy: :func:`ensure_logged` logs
    only what is not there yet."""
    import mlflow
    from mlflow.entities import LoggedModelOutput
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
    run = get_run(uri, run_id)
    # Created first, then filled with no run active: MLflow logs a pyfunc's model_config as
    # params of the active run, where the served defaults (decode/*, serve/*) would sit beside
    # the run's evaluate.* params in every compare view. They live in the model's MLmodel.
    logged = mlflow.initialize_logged_model(
        name=MODEL_ARTIFACT_NAME,
        source_run_id=run_id,
        tags=dict(tags or {}),
        experiment_id=run.info.experiment_id,
    )
    info = mlflow.pyfunc.log_model(
        name=MODEL_ARTIFACT_NAME,
        model_id=logged.model_id,
        python_model=pyfunc.__file__,
        artifacts={pyfunc.MODEL_ARTIFACT: str(model_dir)},
        model_config=model_config(decode, serve),
        signature=pyfunc.model_signature(decode),
        input_example=documents_frame([SMOKE_DOCUMENT]),
        pip_requirements=pip_requirements(),
        # The package travels with the model, so a serving machine needs only the pinned
        # requirements, and serves the code this model was trained and evaluated with.
        code_paths=[str(Path(summarizer.__file__).parent)],
    )
    # What logging into an active run would have recorded: the run lists the model it output.
    tracking.client(uri).log_outputs(run_id, models=[LoggedModelOutput(logged.model_id, step=0)])
    return info
