"""Moving ``@champion``: ``promote`` behind guard rails, ``rollback`` to the version it replaced.

Guard rails of a promotion, cheapest first; ``--force`` overrides the metric comparison only, and
only with a ``--reason``:

1. the version's registration is finished (not ``pending``) and kept it (not ``withdrawn``);
2. the registration gate, re-applied from what the version stores (:func:`.gate.gate_from_tags`)
   with the ``register`` thresholds of now: it beats the baseline, passes the degeneracy checks,
   and stores a finite score; a version missing any of it (created by hand) cannot be verified;
3. its metric is a finite number, and not worse than the champion's; with
   ``register.significance``, better beyond noise too, by a paired test over both versions' test
   examples (:mod:`.evidence`; two evaluations that cannot be compared are said so, and the
   point estimates decide) (``--force``: may be worse, or equal within noise);
4. it loads, and its smoke summaries look like a summarizer (:func:`.smoke.smoke_problems`).

Two promotes at once: exactly one wins, and a loser changes nothing and says so
(:class:`PromotionConflict`); the protocol is :mod:`.champion_claim`.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from summarizer import tracking
from summarizer.config.registry import RegisterParams
from summarizer.registry.champion_claim import claim_champion
from summarizer.registry.errors import PromotionRefused, RegistryError
from summarizer.registry.evidence import weigh
from summarizer.registry.gate import gate_from_tags
from summarizer.registry.loading import load_model
from summarizer.registry.metadata import (
    CHALLENGER,
    CHAMPION,
    PENDING,
    PREVIOUS_CHAMPION_TAG,
    WITHDRAWN,
    registration_state,
)
from summarizer.registry.policy import guard_promotion, rollback_target
from summarizer.registry.smoke import (
    SMOKE_DOCUMENTS,
    describe_problems,
    smoke_problems,
    smoke_summaries,
)
from summarizer.registry.store_writes import tag_version
from summarizer.registry.versions import get_version, version_by_alias

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion


@dataclass
class AliasChange:
    """A move of ``@alias`` to ``version``, done or (for a dry run) planned, with its checks."""

    model_name: str
    alias: str
    version: str
    previous: str | None  # the version the alias pointed to before (None: it did not exist)
    changed: bool  # False for a dry run, or when the version already holds the alias
    dry_run: bool
    forced: bool = False
    checks: dict[str, str] = field(default_factory=dict)  # check name -> outcome
    smoke_summary: str | None = None  # the first smoke summary
    smoke_summaries: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def promote(
    uri: str,
    name: str,
    version: str | int | None = None,
    *,
    settings: RegisterParams | None = None,
    force: bool = False,
    dry_run: bool = False,
    reason: str = "",
    user: str | None = None,
) -> AliasChange:
    """Move ``@champion`` to ``version`` (default: ``@challenger``) if it passes the guard rails
    (see the module docstring), and only if no other promote moved it meanwhile.

    ``settings``: the ``register`` section, whose gate the version must pass and whose metric
    ranks it against the champion; None (no params file): the gate's defaults, and the metric
    each version was selected by. ``force`` lets a version whose metric is worse than the
    champion's through, and needs a ``reason``; it never overrides the gate, a metric that is not
    a finite number, loading or the smoke check: a model that fails them is never worth serving.
    Raises :class:`PromotionRefused` when a guard rail stops it, :class:`PromotionConflict` when
    ``@champion`` moved under it; either way nothing changed.
    """
    if force and not reason.strip():
        raise PromotionRefused(
            "--force needs --reason: say why the metric comparison is overridden (recorded on "
            "the version with who forced it)"
        )
    tracking.ensure_reachable(uri)
    if version is None:
        target = version_by_alias(uri, name, CHALLENGER)
        if target is None:
            raise RegistryError(
                f"model '{name}' has no @{CHALLENGER} version; pass --version to choose one"
            )
    else:
        target = get_version(uri, name, version)
    champion = version_by_alias(uri, name, CHAMPION)  # (a) of .champion_claim
    change = AliasChange(
        model_name=name,
        alias=CHAMPION,
        version=str(target.version),
        previous=None if champion is None else str(champion.version),
        changed=False,
        dry_run=dry_run,
        forced=force,
    )
    if champion is not None and str(champion.version) == str(target.version):
        change.notes.append(f"version {target.version} is already @{CHAMPION}")
        return change
    check_guard_rails(uri, name, target, champion, settings, change)
    if dry_run:
        return change
    record = {
        **audit_tags("promoted", "promotion", user, reason),
        "promotion_forced": str(force).lower(),
        "promotion_checks": json.dumps(change.checks),
    }
    claim_champion(
        uri,
        name,
        target=change.version,
        previous=change.previous,
        forced=force,
        record=record,
        previous_tag=target.tags.get(PREVIOUS_CHAMPION_TAG),
    )
    change.changed = True
    return change


def check_guard_rails(
    uri: str,
    name: str,
    target: ModelVersion,
    champion: ModelVersion | None,
    settings: RegisterParams | None,
    change: AliasChange,
) -> None:
    """Guard rails 1 to 4 of the module docstring, cheapest first: a :class:`PromotionRefused`
    at the first that stops ``target``; each passed one is recorded in ``change.checks``."""
    label = f"version {target.version} of '{name}'"
    if registration_state(target) == PENDING:
        # Its re-check may still delete it (and with it any alias on it).
        raise PromotionRefused(
            f"{label} is still pending: its registration was interrupted or is running; run the "
            "register stage to finish it"
        )
    if registration_state(target) == WITHDRAWN:
        raise PromotionRefused(
            f"{label} is withdrawn: its registration's re-check found a version registered "
            "before it at least as good; it is never a candidate for an alias"
        )

    verdict = gate_from_tags(target.tags, settings or RegisterParams())
    if not verdict.passed:
        raise PromotionRefused(
            f"{label} fails the registration gate (--force does not override it): "
            + "; ".join(verdict.reasons)
        )
    change.checks["gate"] = "ok: " + ", ".join(check.name for check in verdict.checks)
    guard = guard_promotion(target, champion, settings, force=change.forced)
    if not guard.passed:
        raise PromotionRefused(f"{label} is {guard.check}")
    change.checks["metric"] = guard.check
    if champion is not None and settings is not None and settings.significance is not None:
        evidence = weigh(uri, target.run_id, label, champion, settings)
        if not evidence.better and not change.forced:
            raise PromotionRefused(
                f"{label} is not better than the champion beyond noise: it is "
                f"{evidence.summary()}; use --force with --reason to promote it anyway"
            )
        overridden = "" if evidence.better else " (overridden by --force)"
        change.checks["significance"] = evidence.summary() + overridden

    try:
        model = load_model(uri, f"models:/{name}/{target.version}")
    except Exception as exc:
        raise PromotionRefused(f"{label} does not load: {tracking.first_line(exc)}") from None
    change.checks["load"] = "ok"
    try:
        summaries = smoke_summaries(model)
    except RegistryError as exc:
        raise PromotionRefused(f"{label}: {exc}") from None
    problems = smoke_problems(SMOKE_DOCUMENTS, summaries)
    if problems:
        raise PromotionRefused(
            f"{label} fails the smoke check: {describe_problems(problems, summaries)}"
        )
    change.smoke_summary, change.smoke_summaries = summaries[0], summaries
    distinct = len({" ".join(summary.split()) for summary in summaries})
    change.checks["smoke"] = f"ok: {distinct} distinct summaries of {len(summaries)} documents"


def rollback(
    uri: str, name: str, *, reason: str = "", dry_run: bool = False, user: str | None = None
) -> AliasChange:
    """Move ``@champion`` back to the version it replaced (recorded at promotion)."""
    tracking.ensure_reachable(uri)
    champion = version_by_alias(uri, name, CHAMPION)
    previous = rollback_target(name, champion)
    assert champion is not None  # rollback_target refuses a missing champion
    try:
        target = get_version(uri, name, previous)
    except RegistryError as exc:
        raise RegistryError(f"cannot roll back to the previous champion: {exc}") from None
    change = AliasChange(
        model_name=name,
        alias=CHAMPION,
        version=str(target.version),
        previous=str(champion.version),
        changed=False,
        dry_run=dry_run,
    )
    if dry_run:
        return change
    # The record goes on the version being left: it is the one whose story needs telling.
    record = audit_tags("rolled_back", "rollback", user, reason)
    move_alias(uri, name, str(target.version), record, tagged=str(champion.version))
    change.changed = True
    return change


def audit_tags(done: str, action: str, user: str | None, reason: str) -> dict[str, str]:
    """When, by whom and why an alias moved: ``<done>_at``, ``<done>_by``, ``<action>_reason``
    (the user defaults to the login name, an empty reason to ``-``)."""
    return {
        f"{done}_at": tracking.timestamp(),
        f"{done}_by": user or getpass.getuser(),
        f"{action}_reason": reason or "-",
    }


def move_alias(
    uri: str, name: str, version: str, record: dict[str, str], tagged: str | None = None
) -> None:
    """Tag version ``tagged`` (default: ``version``) with ``record``, then point ``@champion`` at
    ``version``; tags first, so a failure part-way never leaves an unexplained alias move."""
    mlflow_client = tracking.client(uri)
    tag_version(mlflow_client, name, tagged or version, record)
    mlflow_client.set_registered_model_alias(name, CHAMPION, version)
