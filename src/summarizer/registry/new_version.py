"""A new version of the registered model: created ``pending``, its metrics, what the gate
measured and its lineage stored as tags, its description saying why it was registered. Nothing
else changes: the caller re-checks it (:meth:`.registrar.Registrar.settle`) before
``@challenger`` may point at it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.io import read_json
from summarizer.registry.cards import describe_version
from summarizer.registry.evidence import Evidence
from summarizer.registry.gate import NOT_APPLIED, GateVerdict, gate_tags
from summarizer.registry.lineage import remote_tags
from summarizer.registry.logged_model import LoggedModelRef
from summarizer.registry.metadata import PENDING, REGISTRATION_TAG, SELECTION_TAG, metric_tags
from summarizer.registry.model_card import ModelCard
from summarizer.registry.policy import RegistrationDecision
from summarizer.registry.stored_model import DIGEST_TAG

if TYPE_CHECKING:
    from mlflow.entities import Run

MODEL_DESCRIPTION = (
    "Abstractive summarizer. @challenger: best registered version (moved by the "
    "register stage); @champion: the version in use (moved by promote / rollback)."
)


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
    logged: LoggedModelRef,
    model_dir: Path,
    test_metrics: Mapping[str, Any],
    decision: RegistrationDecision,
    verdict: GateVerdict = NOT_APPLIED,
    digest: str = "",
    card: ModelCard | None = None,
    evidence: Evidence | None = None,
) -> str:
    """Register the logged model as a new, ``pending`` version of ``name`` with its metrics, what
    the gate measured and its lineage (from the run's tags, else the model directory and the
    working tree) as tags with the ``evidence`` it was registered on, and ``card`` after the
    reason it was registered as its description; returns the new version."""
    run_tags = run.data.tags
    commit = run_tags.get("git_commit") or tracking.git_tags().get("git_commit", "unknown")
    meta_file = Path(model_dir) / "meta.json"
    meta = read_json(meta_file) if meta_file.is_file() else {}
    data_hash = run_tags.get("data_hash") or meta.get("data_hash", "unknown")
    description = (
        f"{decision.metric} {decision.value:.4f} on {test_metrics.get('n_examples', '?')} test "
        f"examples; {decision.previous}. "
        f"Run {run.info.run_id}, commit {commit[:12]}, data {data_hash[:12]}."
        + (f" Paired test: {evidence.summary()}." if evidence is not None else "")
    )
    version_tags = {
        **metric_tags(test_metrics),
        **gate_tags(verdict),
        **(evidence.tags() if evidence is not None else {}),
        SELECTION_TAG: decision.metric,
        "git_commit": commit,
        "git_dirty": run_tags.get("git_dirty", "unknown"),
        "data_hash": data_hash,
        **remote_tags(),  # where `dvc pull` finds that data
        "dataset": run_tags.get("dataset") or str(meta.get("dataset", "unknown")),
        "registered_at": tracking.timestamp(),
        # What loading the version checks its downloaded files against.
        DIGEST_TAG: digest,
        REGISTRATION_TAG: PENDING,
    }
    created = tracking.client(uri).create_model_version(
        name,
        source=logged.model_uri,
        run_id=run.info.run_id,
        tags=version_tags,
        description=description,
        model_id=logged.model_id,
    )
    if card is not None:
        # After creation: the card's commands name the version, numbered by the store.
        describe_version(uri, name, str(created.version), card, description)
    return str(created.version)
