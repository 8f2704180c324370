"""Moving ``@champion`` when several promotes may race: the claim-and-settle protocol.

MLflow has no compare-and-set on an alias, so a promotion is a protocol over plain reads and
writes, in which exactly one of several promotes racing from the same champion wins, and a loser
changes nothing and says so (:class:`.errors.PromotionConflict`, exit 1):

(a) read ``@champion`` (P) before the checks (:func:`.promotion.promote`);
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

import json
import logging
import time
import uuid
from typing import Any

from summarizer import tracking
from summarizer.registry.errors import PromotionConflict
from summarizer.registry.metadata import CHAMPION, PREVIOUS_CHAMPION_TAG
from summarizer.registry.store_writes import retried, tag_version
from summarizer.registry.versions import registered_model

log = logging.getLogger(__name__)

# Registered-model tag: the latest promote's claim on @champion (see the module docstring).
PROMOTION_CLAIM_TAG = "promotion_claim"
# How long a promote waits between moving @champion and reading it back. It must outlast the gap
# between a concurrent promote's re-read (b) and its alias write (d): two tag writes, milliseconds
# on SQLite, a few hundred on a remote tracking server; a second covers a busy machine and costs a
# promotion (a human step) nothing that matters. Read at each call, so tests can change it.
SETTLE_SECONDS = 1.0


def _shown(version: str | None) -> str:
    return "nothing" if version is None else f"version {version}"


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
    *,
    target: str,
    previous: str | None,
    forced: bool,
    record: dict[str, str],
    previous_tag: str | None,
) -> None:
    """Steps (b) to (e) of the protocol in the module docstring: move ``@champion`` from
    ``previous`` (read at step (a)) to ``target`` unless another promote moves it at the same
    time, then tag the target with ``record`` (the audit tags). ``previous_tag``: the target's
    ``previous_champion`` tag before this promote (None: it had none), put back if this promote
    loses."""
    client = tracking.client(uri)
    now, _ = _champion_and_claim(uri, name)  # (b)
    if now != previous:
        raise PromotionConflict(
            f"@{CHAMPION} of '{name}' moved from {_shown(previous)} to {_shown(now)} "
            f"while this promote of version {target} ran; nothing changed"
        )
    nonce = uuid.uuid4().hex
    claim = {
        "nonce": nonce,
        "version": target,
        "previous": previous,
        "by": record["promoted_by"],
        "reason": record["promotion_reason"],
        "forced": forced,
        "at": record["promoted_at"],
    }
    write_claim(client, name, json.dumps(claim))  # (c)
    retried(
        lambda: client.set_model_version_tag(name, target, PREVIOUS_CHAMPION_TAG, previous or "")
    )
    try:
        retried(lambda: client.set_registered_model_alias(name, CHAMPION, target))  # (d)
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
    tag_version(client, name, target, record)


def settle() -> None:
    """Step (e)'s wait: let a promote racing this one land its alias and claim writes."""
    time.sleep(SETTLE_SECONDS)


def write_claim(client: Any, name: str, claim: str) -> None:
    """Step (c): the registered-model tag that tells two promotes of one version apart."""
    retried(lambda: client.set_registered_model_tag(name, PROMOTION_CLAIM_TAG, claim))


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
