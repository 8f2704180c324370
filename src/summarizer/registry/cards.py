"""Model cards in the store: written as ``README.md`` into a logged model's artifacts (so the card
travels wherever the model is downloaded or copied), as a registered version's description (what
the MLflow UI shows on the version's page), and read back for ``summarizer card``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from summarizer import tracking
from summarizer.registry.card_markdown import description, render
from summarizer.registry.errors import RegistryError
from summarizer.registry.model_card import ModelCard
from summarizer.registry.stored_model import use_store
from summarizer.registry.versions import resolve_version

README = "README.md"


def publish_readme(uri: str, model_id: str, card: ModelCard) -> str:
    """Write ``card`` as the ``README.md`` of logged model ``model_id``; returns the text. The
    same facts give the same file, so registering a run again rewrites it unchanged."""
    text = render(card, header=True)
    with tempfile.TemporaryDirectory(prefix="summarizer-card-") as scratch:
        path = Path(scratch) / README
        path.write_text(text, encoding="utf-8")
        tracking.client(uri).log_model_artifact(model_id, str(path))
    return text


def describe_version(uri: str, name: str, version: str, card: ModelCard, intro: str) -> None:
    """Make ``card`` (after ``intro``, why the version was registered) the description of
    ``version``; a version deleted meanwhile (a concurrent registration's re-check) is left so."""
    text = description(card, intro, model_uri=f"models:/{name}/{version}")
    try:
        tracking.client(uri).update_model_version(name, version, description=text)
    except Exception as exc:
        if not tracking.is_not_found(exc):
            raise


def read_card(uri: str, model_uri: str) -> str:
    """The card of ``model_uri`` (``models:/NAME/3``, ``models:/NAME@champion`` or a logged
    model's ``models:/m-...``): its ``README.md``; a version registered before cards existed has
    none, and the error says how to get one."""
    import mlflow
    from mlflow.exceptions import MlflowException

    version = resolve_version(uri, model_uri)
    if version is not None:
        what = f"{model_uri} (version {version.version})"
        location = f"models:/{version.name}/{version.version}"
    elif model_uri.startswith("models:/m-"):
        what, model_id = model_uri, model_uri.removeprefix("models:/").strip("/")
        try:
            location = tracking.client(uri).get_logged_model(model_id).artifact_location
        except Exception as exc:
            if not tracking.is_not_found(exc):
                raise
            raise RegistryError(f"{model_uri}: no such logged model") from None
    else:
        raise RegistryError(
            f"{model_uri}: give a registered version (models:/NAME/VERSION, models:/NAME@ALIAS) "
            "or a logged model (models:/m-...)"
        )
    use_store(uri)
    with tempfile.TemporaryDirectory(prefix="summarizer-card-") as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{location.rstrip('/')}/{README}", dst_path=scratch
            )
        except (MlflowException, OSError):
            raise RegistryError(
                f"{what}: no {README} in the model's artifacts (logged before model cards); "
                "register the run again with the register stage to write one"
            ) from None
        return Path(path).read_text(encoding="utf-8")
