"""Registering a trained run: log its model once, check the gate, decide
(:func:`.policy.decide_registration`) and, if it beats every version, create a new version tagged
with its metrics and lineage and move ``@challenger`` to it. The decision is recorded on the run
and in the report either way.

Atomic without a lock. Reading the versions, deciding and creating a version are separate calls
to the store, so two registrations at once could both decide "better than everything" (the
check-then-act race). Instead of a lock (SQLite has file locks, a tracking server has none, and a
lock left by a killed process must be broken by someone), registration is optimistic, on any SQL
backed store alike (the embedded SQLite database and a tracking server over PostgreSQL):

1. a version is created with the tag ``registration: pending``; the store numbers versions in
   creation order (``max + 1`` under a unique key, retried on conflict);
2. it is re-checked (:func:`.policy.survives`) against every version numbered below it: it stays
   (``kept``) only if it strictly beats all of them, else it is deleted again. The rule reads only
   stored tags, so any process applying it to a version reaches the same answer: the versions that
   stay are exactly those a one-at-a-time registration in version order would have kept;
3. ``@challenger`` is moved to the best kept version, read back, and moved again until a read
   after the last move finds it on the best; then the kept versions are marked ``complete``.

Every ``register`` first finishes what an interrupted one left: it re-checks any ``pending``
version, and confirms ``@challenger`` when a ``kept`` version is not yet complete or the alias is
missing. A run whose model is already a version is never registered twice, and its model is
logged once (found again by its fingerprint).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.config.evaluation import DecodeParams
from summarizer.config.registry import RegisterParams
from summarizer.config.serving import ServeParams
from summarizer.io import write_json
from summarizer.redaction import mask_uri
from summarizer.registry.cards import publish_readme
from summarizer.registry.evidence import Evidence, weigh
from summarizer.registry.gate import NOT_APPLIED, GateVerdict, gate_registration, gate_rows
from summarizer.registry.loading import load_model
from summarizer.registry.logged_model import ensure_logged, files_digest
from summarizer.registry.metadata import (
    CHALLENGER,
    KEPT,
    PENDING,
    WITHDRAWN,
    registration_state,
    stored_metric,
)
from summarizer.registry.model_card import ModelCard
from summarizer.registry.new_version import create_version, ensure_registered_model
from summarizer.registry.policy import decide_registration, selection_value
from summarizer.registry.registrar import Registrar
from summarizer.registry.smoke import smoke_check
from summarizer.registry.versions import all_versions, get_run

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    # Not imported at run time: the evaluation package imports rouge-score, which a serving
    # machine (whose pyfunc imports this package) does not have. A report is passed in.
    from summarizer.evaluation.report import EvaluationReport

log = logging.getLogger(__name__)


@dataclass
class RegisterOutcome:
    """What the register stage decided and did; written as ``reports/register.json``."""

    model_name: str
    run_id: str
    metric: str
    value: float
    greater_is_better: bool
    registered: bool  # this call made the run a version (created it, or finished doing so)
    reason: str
    model_uri: str
    version: str | None = None
    best_before: dict[str, Any] | None = None  # {"version": ..., "value": ...}
    challenger: str | None = None
    incomparable_versions: list[str] = field(default_factory=list)
    gate: dict[str, Any] = field(default_factory=NOT_APPLIED.to_report)
    model_reused: bool = False  # the run already held this logged model: no copy was added
    finished: dict[str, str] = field(default_factory=dict)  # interrupted version -> kept/withdrawn
    withdrawn: str | None = None  # created by this call, then removed by the re-check
    # The paired test against the best version (register.significance): verdict and numbers.
    evidence: dict[str, Any] | None = None
    tracking_uri: str = ""
    at: str = field(default_factory=tracking.timestamp)


def log_and_register(
    *,
    uri: str,
    run_id: str,
    settings: RegisterParams,
    model_dir: Path,
    test_metrics: Mapping[str, Any],
    evaluation: EvaluationReport | None = None,
    decode: DecodeParams | None = None,
    serve: ServeParams | None = None,
    report: Path | None = None,
    card: ModelCard | None = None,
) -> RegisterOutcome:
    """Log the model into the training run (once); register it as a version of
    ``settings.model_name`` only if it passes the gate and beats every version on
    ``settings.metric``.

    The model is logged (and must load and summarize) whatever the decision, so a run that was
    not registered can still be registered by hand later. ``test_metrics``: the run's test
    scores. ``evaluation``: the evaluate stage's report, whose baseline and degeneracy checks the
    run must pass with the thresholds of ``settings``; without it only the smoke check gates.
    ``decode``, ``serve``: the decoding defaults and request limits stored with the logged model.
    ``report``: where to write the outcome. ``card``: the model card's facts; with the gate's
    checks added, it becomes the logged model's ``README.md`` and a new version's description.
    """
    model_name, metric = settings.model_name, settings.metric
    greater_is_better = settings.greater_is_better
    value = selection_value(test_metrics, metric)
    verdict = NOT_APPLIED if evaluation is None else gate_registration(value, evaluation, settings)
    tracking.ensure_reachable(uri)
    run = get_run(uri, run_id)
    decode = decode or DecodeParams()
    logged = ensure_logged(uri, run_id, model_dir, decode, serve)
    digest = files_digest(model_dir, decode, serve)
    # Loaded back from the store as a teammate would load the version: its files, checked
    # against ``digest``. A model that cannot load or predict is an error: it must never reach
    # the registry.
    verdict = verdict.with_checks(
        smoke_check(load_model(uri, logged.model_uri, expected_digest=digest))
    )
    ensure_registered_model(uri, model_name)
    registrar = Registrar(uri, model_name, metric, greater_is_better)

    def is_own(version: ModelVersion) -> bool:
        # This run's model, or this run with this score (a version left by a register that
        # logged a copy of the model each time).
        return version.run_id == run_id and (
            version.source == logged.model_uri or stored_metric(version, metric) == value
        )

    before = all_versions(uri, model_name)
    own_states = {str(v.version): registration_state(v) for v in before if is_own(v)}
    challenger_before = registrar.challenger()
    # Finish what interrupted registrations (this run's or any other's) left pending.
    finished = registrar.settle_pending(before)
    versions = all_versions(uri, model_name)
    own = [v for v in versions if is_own(v) and registration_state(v) != WITHDRAWN]
    decision = decide_registration(value, metric, greater_is_better, versions, run_id)
    if decision.best.incomparable:
        log.warning(
            "version(s) %s of '%s' have no stored %s; they are left out of the comparison",
            ", ".join(decision.best.incomparable),
            model_name,
            metric,
        )

    evidence = None
    if not own and verdict.passed and decision.register and settings.significance is not None:
        incumbent = decision.best.version
        if incumbent is not None:
            # Better by the point estimate: better beyond noise too?
            evidence = weigh(uri, run_id, f"run {run_id[:12]}", incumbent, settings)  # type: ignore[arg-type]
            reason = (
                f"{decision.reason}; {evidence.summary()}"
                if evidence.better
                else f"{metric} {value:.4f} is {evidence.summary()}: not registered as better"
            )
            decision = replace(decision, register=evidence.better, reason=reason)
    if card is not None:
        facts = {"gate": gate_rows(verdict), "evidence": evidence and evidence.to_report()}
        card = card.model_copy(update=facts)
        publish_readme(uri, logged.model_id, card)

    created = withdrawn = None
    registered, reason, version = False, decision.reason, None
    if own:
        version = str(own[0].version)
        reason = f"{metric} {value:.4f}: this run is already version {version}"
    elif not verdict.passed:
        reason = "failed the registration gate: " + "; ".join(verdict.reasons)
    elif decision.register:
        number = create_version(
            uri,
            model_name,
            run,
            logged,
            model_dir,
            test_metrics,
            decision,
            verdict,
            digest,
            card,
            evidence,
        )
        survival = registrar.settle(number)
        if survival is not None and survival.keeps:
            created = version = number
            registered = True
        else:
            withdrawn = number
            reason = (
                survival.reason(metric, value)
                if survival is not None and survival.beaten_by is not None
                else f"{metric} {value:.4f}: version {number} was removed by a concurrent "
                "registration's re-check"
            ) + f"; version {number} was created and withdrawn"

    kept_now = created is not None or any(kept == KEPT for kept in finished.values())
    challenger, moved = registrar.update_challenger(required=kept_now)
    if own:
        # Finished here if it was pending or kept when this call began, or if this call set the
        # missing @challenger on it (a register of before killed between the two steps).
        mine = str(own[0].version)
        if own_states.get(mine) in (PENDING, KEPT) or (challenger_before is None and mine in moved):
            registered = True
            earlier = [v for v in versions if int(v.version) < int(mine)]
            again = decide_registration(value, metric, greater_is_better, earlier, run_id)
            reason = f"finished the interrupted registration of version {mine}: {again.reason}"
            reason += f"; @{CHALLENGER} set" if mine in moved else ""
        else:
            reason += "; nothing to do"

    outcome = RegisterOutcome(
        model_name=model_name,
        run_id=run_id,
        metric=metric,
        value=value,
        greater_is_better=greater_is_better,
        registered=registered,
        reason=reason,
        model_uri=logged.model_uri,
        # Also when the run was registered earlier: the report and the run keep saying which
        # version it is, so registering again never reads as "not registered".
        version=version,
        best_before=decision.best_before,
        challenger=challenger,
        incomparable_versions=decision.best.incomparable,
        gate=verdict.to_report(),
        model_reused=logged.reused,
        finished=finished,
        withdrawn=withdrawn,
        evidence=evidence and evidence.to_report(),
        tracking_uri=mask_uri(uri),  # reports/register.json is pushed: no credentials
    )
    record_decision(uri, outcome, verdict, evidence)
    if report is not None:
        write_json(report, asdict(outcome))
    return outcome


def record_decision(
    uri: str,
    outcome: RegisterOutcome,
    verdict: GateVerdict = NOT_APPLIED,
    evidence: Evidence | None = None,
) -> None:
    """Tag the training run with the decision, the gate and the paired test, so the run says
    what became of its model and why."""
    decision = f"registered as version {outcome.version}" if outcome.version else "not registered"
    gate = "passed" if verdict.passed else "failed"
    tags = {
        "register.decision": decision,
        "register.reason": outcome.reason,
        "register.model": outcome.model_name,
        "register.gate": gate if verdict.applied else f"{gate} (smoke only: no evaluation report)",
        "register.gate_reasons": "; ".join(verdict.reasons) or "-",
        **({f"register.{k}": v for k, v in evidence.tags().items()} if evidence else {}),
    }
    mlflow_client = tracking.client(uri)
    for key, value in tags.items():
        mlflow_client.set_tag(outcome.run_id, key, value[: tracking.MAX_PARAM_VALUE])
