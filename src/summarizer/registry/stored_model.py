"""A registered version read as data, never run as code.

A version logged from code carries a Python module (``pyfunc.py`` and a copy of this package)
that ``mlflow.pyfunc.load_model`` imports: whoever could register a version, or write to the
artifact store behind it, could make every teammate's ``summarize`` run their code. The
project's own tools therefore read only the version's data files (weights through the
``weights_only`` unpickler, JSON config and vocabularies, the decoding defaults from the
``MLmodel`` YAML) and run them with the ``summarizer`` installed here, through the same
:class:`~summarizer.registry.pyfunc.SummarizerModel` that ``mlflow models serve`` runs.

Registration records a digest of those files on the version (:data:`DIGEST_TAG`); loading
recomputes it and refuses a version whose files changed since. Importing the stored module
happens only where the user asks for it (``--trust-model-code``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.registry.errors import RegistryError
from summarizer.registry.versions import resolve_version

if TYPE_CHECKING:
    import pandas as pd

    from summarizer.registry.pyfunc import SummarizerModel

# Version tag: sha256 of the model directory's files and the decoding/serving config.
DIGEST_TAG = "model_digest"
MLMODEL = "MLmodel"
PYFUNC_FLAVOR = "python_function"


def hash_tree(digest: Any, root: Path, pattern: str = "*") -> None:
    """Feed every file under ``root`` matching ``pattern`` into ``digest``: relative path and
    content, in a fixed order, so a renamed, added or changed file changes the hash."""
    for path in sorted(p for p in root.rglob(pattern) if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")


def model_digest(model_dir: Path, config: Mapping[str, Any]) -> str:
    """The digest registration records: the model directory's files and the model config
    (decoding defaults and request limits) the version was logged with."""
    digest = hashlib.sha256()
    hash_tree(digest, Path(model_dir))
    digest.update(json.dumps(dict(config), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _read_mlmodel(root: Path, model_uri: str) -> dict[str, Any]:
    import yaml

    try:
        text = (root / MLMODEL).read_text(encoding="utf-8")
        # safe_load: the file comes from the artifact store, and yaml tags could build objects.
        mlmodel = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RegistryError(
            f"{model_uri}: unreadable {MLMODEL}: {tracking.first_line(exc)}"
        ) from None
    flavor = mlmodel.get("flavors", {}).get(PYFUNC_FLAVOR) if isinstance(mlmodel, dict) else None
    if not isinstance(flavor, dict):
        raise RegistryError(f"{model_uri}: not a python_function model ({MLMODEL})")
    return flavor


def _model_dir(root: Path, flavor: Mapping[str, Any], model_uri: str) -> Path:
    """The model directory inside the downloaded model, refusing a path that leaves it."""
    from summarizer.registry.pyfunc import MODEL_ARTIFACT

    entry = (flavor.get("artifacts") or {}).get(MODEL_ARTIFACT)
    relative = entry.get("path") if isinstance(entry, Mapping) else None
    if not isinstance(relative, str):
        raise RegistryError(
            f"{model_uri}: no '{MODEL_ARTIFACT}' artifact; not a model logged by this project"
        )
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_dir():
        raise RegistryError(f"{model_uri}: artifact path {relative!r} is not a folder of the model")
    return path


@dataclass
class StoredModel:
    """A registered (or logged) model loaded from its data files with the installed code; it
    predicts like the pyfunc MLflow would load (same class, same checks)."""

    model_uri: str
    digest: str
    python_model: SummarizerModel
    config: dict[str, Any] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame, params: Mapping[str, Any] | None = None) -> list[str]:
        return self.python_model.predict(None, frame, dict(params) if params else None)


def use_store(uri: str) -> None:
    """Point MLflow's module-level API (model logging, loading, downloads) at the store."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def download_model(uri: str, model_uri: str, destination: Path) -> Path:
    """Every file of the model behind ``model_uri`` into ``destination`` (nothing is imported)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    use_store(uri)
    try:
        return Path(
            mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(destination))
        )
    except MlflowException as exc:
        raise RegistryError(f"{model_uri}: cannot download: {exc.message}") from None


def load_stored_model(uri: str, model_uri: str, expected_digest: str | None = None) -> StoredModel:
    """The model behind ``model_uri`` read from its files and checked against its digest: the
    version's :data:`DIGEST_TAG` for ``models:/<name>/<version>`` and ``models:/<name>@<alias>``,
    else ``expected_digest`` (a model just logged, not yet a version). A digest that differs, or
    none to check against, is a :class:`RegistryError` naming the version."""
    from summarizer.registry.pyfunc import MODEL_ARTIFACT, SummarizerModel

    version = resolve_version(uri, model_uri)
    what = model_uri if version is None else f"{model_uri} (version {version.version})"
    if version is not None:
        expected_digest = version.tags.get(DIGEST_TAG)
        # The version the alias named when it was read: an alias moving meanwhile cannot pair
        # one version's digest with another's files.
        model_uri = f"models:/{version.name}/{version.version}"
    if not expected_digest:
        raise RegistryError(
            f"{what}: no {DIGEST_TAG} recorded, so its files cannot be checked (registered by "
            "hand or before digests were recorded); register it again with the register stage, "
            "or pass --trust-model-code to load it through its own code"
        )
    with tempfile.TemporaryDirectory(prefix="summarizer-model-") as scratch:
        root = download_model(uri, model_uri, Path(scratch))
        flavor = _read_mlmodel(root, model_uri)
        config = flavor.get("config") or {}
        if not isinstance(config, dict):
            raise RegistryError(f"{what}: the model config in {MLMODEL} is not a mapping")
        model_dir = _model_dir(root, flavor, model_uri)
        found = model_digest(model_dir, config)
        if found != expected_digest:
            raise RegistryError(
                f"{what}: its files do not match the digest recorded at registration "
                f"({found[:12]} != {expected_digest[:12]}): they were changed in the artifact "
                "store since; refusing to load it"
            )
        python_model = SummarizerModel()
        # The weights are in memory once loaded; the scratch folder can go.
        python_model.load_context(
            SimpleNamespace(artifacts={MODEL_ARTIFACT: str(model_dir)}, model_config=config)
        )
    return StoredModel(model_uri, found, python_model, config)
