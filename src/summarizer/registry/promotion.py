"""Moving ``@champion``: ``promote`` behind guard rails, ``rollback`` to the version it replaced.

Guard rails of a promotion, cheapest first; ``--force`` overrides the metric comparison only, and
only with a ``--reason``:

1. the version's registration is finished (not ``pending``) and kept it (not ``withdrawn``);
2. the registration gate, re-applied from what the version stores (:func:`.gate.gate_from_tags`)
   with the ``register`` thresholds of now: it beats the baseline, passes the degeneracy checks,
   and stores a finite score; a version missing any of it (created by hand) cannot be verified;
3. its metric is a finite number, and not worse than the champion's (``--force``: may be worse);
4. it loads, and its smoke summaries look like a summarizer (:func:`.policy.smoke_problems`).

Two promotes at once. MLflow has no compare-and-set on an alias, so a promotion is a protocol
over plain reads and writes, in which exactly one of several promotes racing from the same
champion wins, and a loser changes nothing and says so (:class:`PromotionConflict`, exit 1):

(a) read ``@champion`` (P) before the checks;
(b) after the checks, read it again: if it is no longer P, stop ("moved from P to X while this
    promote ran; nothing changed");
(c) write the registered-model tag ``promotion_claim``: a fresh nonce and the target version
    (and who, why, when), then ``previous_champion`` = P on the target;
(d) point ``@champion`` at the target;
(e) wait :data:`SETTLE_SECONDS`, read the alias and the claim again: this promote won iff the
    alias is on its target and the claim does not name the same version with another nonce.
    Promotes of different versions: the last alias write decides; of the same version (where
    the alias cannot tell them apart): the last claim decides.

Only the winner writes the audit tags (``promoted_at``, ``promoted_by``, ``promotion_reason``,
``promotion_forced``, ``promotion_checks``). ``previous_champion`` is written before the alias
moves, so that a crash between the two never leaves a champion whose tag names a rollback target
from an older promotion of the same version (or none); a loser whose target does not hold the
alias puts that tag back as it was (``""`` where there was none: rollback reads it as none). A
crash after (d) leaves the champion without audit tags, but the claim tag still says who moved it
and why. The claim tag itself is the last attempt's, not a record of a promotion.

What the protocol cannot rule out: a promote whose alias write (d) lands more than
:data:`SETTLE_SECONDS` after its re-read (b) (a stalled process) can move the alias after another
promote's read (e) confirmed it; both then report success, the alias is on the later one, and the
later one's ``previous_champion`` is P, not the earlier winner. Among three or more promotes at
once, two of the same version can both win when the last claim names a third version: the alias
is still on that one version. A ``rollback`` at the same time is seen by a promote's reads (b) and
(e), but a rollback itself does not check.
"""

from __future__ import annotations

import getpass
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from summarizer import tracking
from summarizer.config import RegisterParams
from summarizer.registry.gate import gate_from_tags
from summarizer.registry.logged_model import SMOKE_DOCUMENTS, load_model, smoke_summaries
from summarizer.registry.policy import (
    CHALLENGER,
    CHAMPION,
    PENDING,
    PREVIOUS_CHAMPION_TAG,
    WITHDRAWN,
    PromotionConflict,
    PromotionRefused,
    RegistryError,
    guard_promotion,
    registration_state,
    rollback_target,
    smoke_problems,
)
from summarizer.registry.versions import get_version, registered_model, version_by_alias

log = logging.getLogger(__name__)

T = TypeVar("T")

# Registered-model tag: the latest promote's claim on @champion (see the module docstring).
PROMOTION_CLAIM_TAG = "promotion_claim"
# How long a promote waits between moving @champion and reading it back. It must outlast the gap
# between a concurrent promote's re-read (b) and its alias write (d): two tag writes, milliseconds
# on SQLite, a few hundred on a remote tracking server; a second covers a busy machine and costs a
# promotion (a human step) nothing that matters. Read at each call, so tests can change it.
SETTLE_SECONDS = 1.0
# MLflow's SQL store inserts a missing tag or alias row; two processes inserting it at once
# collide on its unique key, and the one that lost writes again (the row exists then).
WRITE_ATTEMPTS = 5


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
    gate: RegisterParams | None = None,
) -> AliasChange:
    """Move ``@champion`` to ``version`` (default: ``@challenger``) if it passes the guard rails
    (see the module docstring), and only if no other promote moved it meanwhile.

    ``gate``: the ``register`` settings whose gate the version must pass (default: their
    defaults). ``force`` lets a version whose metric is worse than the champion's through, and
    needs a ``reason``; it never overrides the gate, a metric that is not a finite number, loading
    or the smoke check: a model that fails them is never worth serving. Raises
    :class:`PromotionRefused` when a guard rail stops it, :class:`PromotionConflict` when
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
    champion = version_by_alias(uri, name, CHAMPION)  # (a)
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

    verdict = gate_from_tags(target.tags, gate or RegisterParams())
    if not verdict.passed:
        raise PromotionRefused(
            f"{label} fails the registration gate (--force does not override it): "
            + "; ".join(verdict.reasons)
        )
    change.checks["gate"] = "ok: " + ", ".join(check.name for check in verdict.checks)
    guard = guard_promotion(
        target, champion, metric=metric, greater_is_better=greater_is_better, force=force
    )
    if not guard.passed:
        raise PromotionRefused(f"{label} is {guard.check}")
    change.checks["metric"] = guard.check

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
            f"{label} fails the smoke check: {'; '.join(problems)} (summaries: {summaries!r})"
        )
    change.smoke_summary, change.smoke_summaries = summaries[0], summaries
    distinct = len({" ".join(summary.split()) for summary in summaries})
    change.checks["smoke"] = f"ok: {distinct} distinct summaries of {len(summaries)} documents"

    if dry_run:
        return change
    record = {
        **audit_tags("promoted", "promotion", user, reason),
        "promotion_forced": str(force).lower(),
        "promotion_checks": json.dumps(change.checks),
    }
    claim_champion(uri, name, change, record, target.tags.get(PREVIOUS_CHAMPION_TAG))
    change.changed = True
    return change


def _shown(version: str | None) -> str:
    return "nothing" if version is None else f"version {version}"


def _retried(write: Callable[[], T]) -> T:
    """``write()``, again when it lost an insert race on a unique key (see WRITE_ATTEMPTS)."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return write()
        except Exception as exc:
            if attempt == WRITE_ATTEMPTS or "unique constraint" not in str(exc).lower():
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _champion_and_claim(uri: str, name: str) -> tuple[str | None, dict[str, Any]]:
    """Where ``@champion`` points now, and the promotion claim tag (empty if none or unreadable)."""
    model = registered_model(uri, name)
    champion = model.aliases.get(CHAMPION)
    try:
        claim = json.loads(model.tags.get(PROMOTION_CLAIM_TAG) or "{}")
    except ValueError:
        claim = None
    return (None if champion is None else str(champion)), claim if isinstance(claim, dict) else {}


def claim_champion(
    uri: str,
    name: str,
    change: AliasChange,
    record: dict[str, str],
    previous_tag: str | None,
) -> None:
    """Steps (b) to (e) of the protocol in the module docstring: move ``@champion`` from
    ``change.previous`` to ``change.version`` unless another promote moves it at the same time,
    then tag the version with ``record``. ``previous_tag``: the target's ``previous_champion``
    tag before this promote (None: it had none), put back if this promote loses."""
    client = tracking.client(uri)
    target = change.version
    now, _ = _champion_and_claim(uri, name)  # (b)
    if now != change.previous:
        raise PromotionConflict(
            f"@{CHAMPION} of '{name}' moved from {_shown(change.previous)} to {_shown(now)} "
            f"while this promote of version {target} ran; nothing changed"
        )
    nonce = uuid.uuid4().hex
    claim = {
        "nonce": nonce,
        "version": target,
        "previous": change.previous,
        "by": record["promoted_by"],
        "reason": record["promotion_reason"],
        "forced": change.forced,
        "at": record["promoted_at"],
    }
    write_claim(client, name, json.dumps(claim))  # (c)
    _retried(
        lambda: client.set_model_version_tag(
            name, target, PREVIOUS_CHAMPION_TAG, change.previous or ""
        )
    )
    try:
        _retried(lambda: client.set_registered_model_alias(name, CHAMPION, target))  # (d)
    except Exception:
        # Refused (say, no permission to move @champion): the alias did not move here. The
        # refusal is what the user must see, even if putting the tag back fails too.
        try:
            _restore_previous(uri, name, target, previous_tag)
        except Exception as exc:
            log.warning(
                "could not put back the previous_champion tag of version %s: %s",
                target,
                tracking.first_line(exc),
            )
        raise
    settle()  # (e)
    now, latest = _champion_and_claim(uri, name)
    if now != target:
        _restore_previous(uri, name, target, previous_tag)
        raise PromotionConflict(
            f"@{CHAMPION} of '{name}' moved to {_shown(now)} while this promote of version "
            f"{target} ran (another promote or rollback at the same time won); nothing changed"
        )
    if str(latest.get("version")) == target and latest.get("nonce") != nonce:
        # The same version promoted by two promotes at once: the other's claim came last. The
        # alias is where both wanted it; the other one records the promotion.
        raise PromotionConflict(
            f"version {target} of '{name}' was promoted to @{CHAMPION} by another promote at the "
            f"same time (by {latest.get('by', '?')}), which records it; this one changed nothing"
        )
    for key, value in record.items():
        client.set_model_version_tag(name, target, key, value)


def settle() -> None:
    """Step (e)'s wait: let a promote racing this one land its alias and claim writes."""
    time.sleep(SETTLE_SECONDS)


def write_claim(client: Any, name: str, claim: str) -> None:
    """Step (c): the registered-model tag that tells two promotes of one version apart."""
    _retried(lambda: client.set_registered_model_tag(name, PROMOTION_CLAIM_TAG, claim))


def _restore_previous(uri: str, name: str, target: str, previous_tag: str | None) -> None:
    """Put the target's ``previous_champion`` tag back as it was before this promote, unless
    the target holds ``@champion`` now (promoted by another promote of the same version, whose
    tag this is too)."""
    now, _ = _champion_and_claim(uri, name)
    if now == target:
        return
    # Written back, never deleted: an account with EDIT on the model (the pipeline's, on a
    # server with logins) may set tags but not delete them, and rollback reads "" as no tag.
    client = tracking.client(uri)
    client.set_model_version_tag(name, target, PREVIOUS_CHAMPION_TAG, previous_tag or "")


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
