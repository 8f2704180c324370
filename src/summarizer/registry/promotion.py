"""Moving ``@champion``: ``promote`` behind guard rails, ``rollback`` to the version it replaced.

Each promotion tags the new champion with the one it replaced (before the alias moves), so a
rollback always knows where to go back to; both record who, when and why on the version.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field

from summarizer import tracking
from summarizer.registry.logged_model import SMOKE_DOCUMENTS, load_model, smoke_summaries
from summarizer.registry.policy import (
    CHALLENGER,
    CHAMPION,
    PENDING,
    PREVIOUS_CHAMPION_TAG,
    PromotionRefused,
    RegistryError,
    guard_promotion,
    registration_state,
    rollback_target,
    smoke_problems,
)
from summarizer.registry.versions import get_version, version_by_alias


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
    metric: str | None = None,
    greater_is_better: bool = True,
    force: bool = False,
    dry_run: bool = False,
    reason: str = "",
    user: str | None = None,
) -> AliasChange:
    """Move ``@champion`` to ``version`` (default: ``@challenger``) if it passes the guard rails.

    Guard rails: the model loads through the pyfunc; its smoke summaries of news on unrelated
    topics are non-empty, not one word repeated, and not the same few words for every document
    (:func:`.policy.smoke_problems`); and its metric is not worse than the current champion's.
    ``force`` overrides the metric guard only: a model that cannot load or summarize is never
    worth serving.
    """
    tracking.ensure_reachable(uri)
    if version is None:
        target = version_by_alias(uri, name, CHALLENGER)
        if target is None:
            raise RegistryError(
                f"model '{name}' has no @{CHALLENGER} version; pass --version to choose one"
            )
    else:
        target = get_version(uri, name, version)
    champion = version_by_alias(uri, name, CHAMPION)
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
    if registration_state(target) == PENDING:
        # Its re-check may still delete it (and with it any alias on it).
        raise PromotionRefused(
            f"version {target.version} of '{name}' is still pending: its registration was "
            "interrupted or is running; run the register stage to finish it"
        )

    try:
        model = load_model(uri, f"models:/{name}/{target.version}")
    except Exception as exc:
        raise PromotionRefused(
            f"version {target.version} of '{name}' does not load: {tracking.first_line(exc)}"
        ) from None
    change.checks["load"] = "ok"
    try:
        summaries = smoke_summaries(model)
    except RegistryError as exc:
        raise PromotionRefused(f"version {target.version} of '{name}': {exc}") from None
    problems = smoke_problems(SMOKE_DOCUMENTS, summaries)
    if problems:
        raise PromotionRefused(
            f"version {target.version} of '{name}' fails the smoke check: {'; '.join(problems)} "
            f"(summaries: {summaries!r})"
        )
    change.smoke_summary, change.smoke_summaries = summaries[0], summaries
    distinct = len({" ".join(summary.split()) for summary in summaries})
    change.checks["smoke"] = f"ok: {distinct} distinct summaries of {len(summaries)} documents"

    guard = guard_promotion(
        target, champion, metric=metric, greater_is_better=greater_is_better, force=force
    )
    if not guard.passed:
        raise PromotionRefused(f"version {target.version} of '{name}' is {guard.check}")
    change.checks["metric"] = guard.check

    if dry_run:
        return change
    record = {
        **audit_tags("promoted", "promotion", user, reason),
        "promotion_forced": str(force).lower(),
        "promotion_checks": json.dumps(change.checks),
        # Written before the alias moves, so the champion always knows where rollback goes.
        PREVIOUS_CHAMPION_TAG: change.previous or "",
    }
    move_alias(uri, name, str(target.version), record)
    change.changed = True
    return change


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
    for key, value in record.items():
        mlflow_client.set_model_version_tag(name, tagged or version, key, value)
    mlflow_client.set_registered_model_alias(name, CHAMPION, version)
