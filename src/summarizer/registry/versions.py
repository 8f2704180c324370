"""Reading the registry: the registered model, its versions and aliases, the runs behind them,
the ``models`` listing and ``models:/`` URI checks. Nothing here changes the store.

A missing model, version or alias is a :class:`RegistryError` that says what exists and how to
get what is missing, instead of MLflow's long and generic message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.redaction import mask_uri, redact
from summarizer.registry.errors import RegistryError
from summarizer.registry.lineage import REMOTE_TAG
from summarizer.registry.metadata import (
    CHAMPION,
    SELECTION_TAG,
    registration_state,
    stored_metrics,
)

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel


@contextmanager
def _store_errors(missing: str, uri: str | None = None) -> Iterator[None]:
    """Inside the block, the store answering "not found" is a :class:`RegistryError` saying
    ``missing``; with ``uri``, any other failure is one naming the registry, else it propagates."""
    try:
        yield
    except Exception as exc:
        if tracking.is_not_found(exc):
            raise RegistryError(missing) from None
        if uri is None:
            raise
        raise RegistryError(
            f"registry at {mask_uri(uri)}: {redact(tracking.first_line(exc), uri)}"
        ) from None


def get_run(uri: str, run_id: str) -> Run:
    """The training run ``run_id``, or an error saying it is not in this store."""
    with _store_errors(
        f"MLflow run {run_id} not found in {mask_uri(uri)}; was the model trained against "
        "another tracking store ($MLFLOW_TRACKING_URI)?"
    ):
        return tracking.client(uri).get_run(run_id)


def registered_model(uri: str, name: str) -> RegisteredModel:
    """The registered model, or an error that says how to get one."""
    with _store_errors(
        f"no registered model '{name}' in {mask_uri(uri)}; run the register stage (`dvc repro`) to "
        "register one",
        uri,
    ):
        return tracking.client(uri).get_registered_model(name)


def all_versions(uri: str, name: str) -> list[ModelVersion]:
    """Every version of ``name``, oldest first (search pages through all of them)."""
    mlflow_client = tracking.client(uri)
    versions: list[ModelVersion] = []
    token = None
    while True:
        page = mlflow_client.search_model_versions(
            f"name = '{name}'", max_results=1000, page_token=token
        )
        versions.extend(page)
        token = page.token
        if not token:
            break
    return sorted(versions, key=lambda version: int(version.version))


def get_version(uri: str, name: str, version: str | int) -> ModelVersion:
    """Version ``version`` of ``name``, or an error listing the versions there are."""
    model = registered_model(uri, name)
    try:
        return tracking.client(uri).get_model_version(name, str(version))
    except Exception as exc:
        if not tracking.is_not_found(exc) and tracking.error_code(exc) != "INVALID_PARAMETER_VALUE":
            raise RegistryError(
                f"registry at {mask_uri(uri)}: {redact(tracking.first_line(exc), uri)}"
            ) from None
    known = ", ".join(str(v.version) for v in all_versions(uri, model.name)) or "none"
    raise RegistryError(f"model '{name}' has no version {version} (versions: {known})")


def version_by_alias(uri: str, name: str, alias: str) -> ModelVersion | None:
    """The version ``@alias`` points to, or None if the alias is not set."""
    model = registered_model(uri, name)
    version = model.aliases.get(alias)
    if version is None:
        return None
    return tracking.client(uri).get_model_version(name, str(version))


# ------------------------------------------------------------------------------------- listing
@dataclass
class VersionRow:
    """One line of the ``models`` table: a version with its stored metrics and lineage."""

    version: str
    aliases: list[str]
    metrics: dict[str, float]
    selection_metric: str | None
    git_commit: str
    data_hash: str
    created: datetime
    run_id: str | None
    description: str
    promoted_by: str | None = None
    registration: str = "complete"  # pending: created, its registration not finished
    dvc_remote: str | None = None  # where `dvc pull` gets its data, if a remote was set
    git_dirty: str = "unknown"  # "True": trained from a working tree with uncommitted changes


def list_versions(uri: str, name: str) -> list[VersionRow]:
    """Every version of ``name`` with its stored metrics and aliases, newest first."""
    tracking.ensure_reachable(uri)
    model = registered_model(uri, name)
    # Search results may omit aliases, so they come from the registered model itself.
    aliases: dict[str, list[str]] = {}
    for alias, version in model.aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    return [
        VersionRow(
            version=str(version.version),
            aliases=sorted(aliases.get(str(version.version), [])),
            metrics=stored_metrics(version.tags),
            selection_metric=version.tags.get(SELECTION_TAG),
            git_commit=version.tags.get("git_commit", "unknown"),
            data_hash=version.tags.get("data_hash", "unknown"),
            created=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
            run_id=version.run_id,
            description=version.description or "",
            promoted_by=version.tags.get("promoted_by"),
            registration=registration_state(version),
            dvc_remote=version.tags.get(REMOTE_TAG),
            git_dirty=version.tags.get("git_dirty", "unknown"),
        )
        for version in reversed(all_versions(uri, name))
    ]


# ----------------------------------------------------------------------------- model references
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))?$")


def resolve_version(uri: str, model_uri: str) -> ModelVersion | None:
    """The registered version behind ``models:/<name>/<version>`` or ``models:/<name>@<alias>``
    (a clear error when it is missing); None for any other model URI (a logged model's id,
    ``runs:/``)."""
    check_model_uri(uri, model_uri)
    match = _MODELS_URI.match(model_uri)
    if match is None or (match["alias"] is None and match["version"] is None):
        return None
    if match["alias"] is not None:
        return version_by_alias(uri, match["name"], match["alias"])
    return get_version(uri, match["name"], match["version"])


def check_model_uri(uri: str, model_uri: str) -> None:
    """Turn a missing model, alias or version behind ``models:/...`` into a clear error before
    MLflow's own (long and generic) one."""
    match = _MODELS_URI.match(model_uri)
    if match is None:
        return  # runs:/, models:/<model id>, remote stores: let MLflow resolve them
    name, alias, version = match["name"], match["alias"], match["version"]
    tracking.ensure_reachable(uri)
    if name.startswith("m-") and alias is None and version is None:
        return  # a logged model id (MLflow 3), not a registered name
    if alias is not None:
        if version_by_alias(uri, name, alias) is None:
            known: dict[str, Any] = registered_model(uri, name).aliases
            listed = ", ".join(f"@{a} (v{v})" for a, v in sorted(known.items())) or "none"
            hint = " (promote a version first)" if alias == CHAMPION else ""
            raise RegistryError(f"model '{name}' has no alias @{alias}{hint}; aliases: {listed}")
    elif version is not None:
        get_version(uri, name, version)
    else:
        registered_model(uri, name)
