"""Registering a trained run: log its model, decide (:func:`.policy.decide_registration`) and, if
it beats every version, create a new version tagged with its metrics and lineage and move
``@challenger`` to it. The decision is recorded on the run either way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.config import DecodeParams
from summarizer.io import read_json, write_json
from summarizer.registry.logged_model import load_model, log_model, smoke_test
from summarizer.registry.policy import (
    CHALLENGER,
    DEFAULT_METRIC,
    SELECTION_TAG,
    RegistrationDecision,
    decide_registration,
    metric_tags,
    selection_value,
)
from summarizer.registry.versions import all_versions, get_run, registered_model

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.models.model import ModelInfo

log = logging.getLogger(__name__)

MODEL_DESCRIPTION = (
    "Abstractive summarizer. @challenger: best registered version (moved by the "
    "register stage); @champion: the version in use (moved by promote / rollback)."
)


@dataclass
class RegisterOutcome:
    """What the register stage decided and did; written as ``reports/register.json``."""

    model_name: str
    run_id: str
    metric: str
    value: float
    greater_is_better: bool
    registered: bool
    reason: str
    model_uri: str
    version: str | None = None
    best_before: dict[str, Any] | None = None  # {"version": ..., "value": ...}
    challenger: str | None = None
    incomparable_versions: list[str] = field(default_factory=list)
    tracking_uri: str = ""
    at: str = field(default_factory=tracking.timestamp)


def log_and_register(
    *,
    uri: str,
    run_id: str,
    model_name: str,
    model_dir: Path,
    test_metrics: Mapping[str, Any],
    metric: str = DEFAULT_METRIC,
    greater_is_better: bool = True,
    decode: DecodeParams | None = None,
    report: Path | None = None,
) -> RegisterOutcome:
    """Log the model into the training run; register it only if it beats every version.

    The model is logged (and must load and summarize) whatever the decision, so a run that was
    not registered can still be registered by hand later. ``report``: where to write the outcome.
    """
    value = selection_value(test_metrics, metric)
    tracking.ensure_reachable(uri)
    run = get_run(uri, run_id)
    info = log_model(uri, run_id, model_dir, decode or DecodeParams())
    # A model that cannot load or predict must never reach the registry.
    smoke_test(load_model(uri, info.model_uri))
    ensure_registered_model(uri, model_name)

    versions = all_versions(uri, model_name)
    decision = decide_registration(value, metric, greater_is_better, versions, run_id)
    if decision.best.incomparable:
        log.warning(
            "version(s) %s of '%s' have no stored %s; they are left out of the comparison",
            ", ".join(decision.best.incomparable),
            model_name,
            metric,
        )
    version = (
        create_version(uri, model_name, run, info, model_dir, test_metrics, decision)
        if decision.register
        else None
    )
    outcome = RegisterOutcome(
        model_name=model_name,
        run_id=run_id,
        metric=metric,
        value=value,
        greater_is_better=greater_is_better,
        registered=decision.register,
        reason=decision.reason,
        model_uri=info.model_uri,
        version=version,
        best_before=decision.best_before,
        challenger=version or challenger_version(uri, model_name),
        incomparable_versions=decision.best.incomparable,
        tracking_uri=uri,
    )
    record_decision(uri, outcome)
    if report is not None:
        write_json(report, asdict(outcome))
    return outcome


def challenger_version(uri: str, name: str) -> str | None:
    """The version ``@challenger`` points to, if any."""
    current = registered_model(uri, name).aliases.get(CHALLENGER)
    return None if current is None else str(current)


def ensure_registered_model(uri: str, name: str) -> None:
    """Create the registered model ``name`` unless it exists."""
    try:
        tracking.client(uri).create_registered_model(name, description=MODEL_DESCRIPTION)
    except Exception as exc:
        if tracking.error_code(exc) not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise


def create_version(
    uri: str,
    name: str,
    run: Run,
    info: ModelInfo,
    model_dir: Path,
    test_metrics: Mapping[str, Any],
    decision: RegistrationDecision,
) -> str:
    """Register the logged model as a new version of ``name`` with its metrics and lineage
    (from the run's tags, else the model directory and the working tree) as tags, and move
    ``@challenger`` to it; returns the new version."""
    run_tags = run.data.tags
    commit = run_tags.get("git_commit") or tracking.git_tags().get("git_commit", "unknown")
    meta_file = Path(model_dir) / "meta.json"
    meta = read_json(meta_file) if meta_file.is_file() else {}
    data_hash = run_tags.get("data_hash") or meta.get("data_hash", "unknown")
    description = (
        f"{decision.metric} {decision.value:.4f} on {test_metrics.get('n_examples', '?')} test "
        f"examples; {decision.previous}. "
        f"Run {run.info.run_id}, commit {commit[:12]}, data {data_hash[:12]}."
    )
    version_tags = {
        **metric_tags(test_metrics),
        SELECTION_TAG: decision.metric,
        "git_commit": commit,
        "git_dirty": run_tags.get("git_dirty", "unknown"),
        "data_hash": data_hash,
        "dataset": run_tags.get("dataset") or str(meta.get("dataset", "unknown")),
        "registered_at": tracking.timestamp(),
    }
    mlflow_client = tracking.client(uri)
    created = mlflow_client.create_model_version(
        name,
        source=info.model_uri,
        run_id=run.info.run_id,
        tags=version_tags,
        description=description,
        model_id=info.model_id,
    )
    mlflow_client.set_registered_model_alias(name, CHALLENGER, created.version)
    return str(created.version)


def record_decision(uri: str, outcome: RegisterOutcome) -> None:
    """Tag the training run with the decision, so the run says what became of its model."""
    decision = (
        f"registered as version {outcome.version}" if outcome.registered else "not registered"
    )
    mlflow_client = tracking.client(uri)
    mlflow_client.set_tag(outcome.run_id, "register.decision", decision)
    mlflow_client.set_tag(outcome.run_id, "register.reason", outcome.reason)
    mlflow_client.set_tag(outcome.run_id, "register.model", outcome.model_name)
