"""The steps of a registration after its version is created (see ``registration.py`` for the
protocol): re-check a pending version against the versions numbered before it, and move
``@challenger`` to the best kept version until a read after the move finds it there. Each step
is safe to repeat and to run in several processes at once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from summarizer import tracking
from summarizer.registry.metadata import (
    CHALLENGER,
    COMPLETE,
    KEPT,
    PENDING,
    REGISTRATION_TAG,
    WITHDRAWN,
    registration_state,
    stored_metric,
)
from summarizer.registry.policy import Survival, challenger_target, survives
from summarizer.registry.store_writes import lost_insert_race
from summarizer.registry.versions import all_versions, registered_model

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)

# Rounds of "move @challenger, read back" before giving up; each extra round needs another
# registration finishing at that very moment.
CHALLENGER_ROUNDS = 20


class Registrar:
    """The steps after a version is created, each safe to repeat and to run in several processes
    at once: re-check a pending version, and confirm ``@challenger`` on the best kept version."""

    def __init__(self, uri: str, name: str, metric: str, greater_is_better: bool) -> None:
        self.uri = uri
        self.name = name
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.client = tracking.client(uri)

    def challenger(self) -> str | None:
        """The version ``@challenger`` points to, if any."""
        current = registered_model(self.uri, self.name).aliases.get(CHALLENGER)
        return None if current is None else str(current)

    def settle(self, number: str) -> Survival | None:
        """Re-check version ``number`` against the versions created before it: mark it ``kept``
        or delete it. A version no longer pending is left as it is (``keeps``); None if it is
        gone (another process's re-check of it deleted it)."""
        versions = all_versions(self.uri, self.name)
        candidate = next((v for v in versions if str(v.version) == str(number)), None)
        if candidate is None:
            return None
        if registration_state(candidate) == WITHDRAWN:
            return Survival(False)
        if registration_state(candidate) != PENDING:
            return Survival(True)
        survival = survives(candidate, versions, self.metric, self.greater_is_better)
        try:
            if survival.keeps:
                # Another process may have settled and completed it since the read above;
                # writing "kept" then would turn "complete" back into "kept".
                fresh = self.client.get_model_version(self.name, str(number))
                if registration_state(fresh) != PENDING:
                    return Survival(True)
                self.client.set_model_version_tag(self.name, str(number), REGISTRATION_TAG, KEPT)
            else:
                log.info(
                    "version %s of '%s': %s; deleting it",
                    number,
                    self.name,
                    survival.reason(self.metric, stored_metric(candidate, self.metric)),
                )
                self.withdraw(str(number))
        except Exception as exc:
            if not tracking.is_not_found(exc):
                raise
            return None  # deleted meanwhile by another process applying the same rule
        return survival

    def withdraw(self, number: str) -> None:
        """Remove version ``number``, beaten by a version created before it. An account that may
        register versions but not delete them (EDIT on a server with logins) marks it
        ``withdrawn`` instead: never a candidate for an alias, left for someone with MANAGE to
        delete."""
        try:
            self.client.delete_model_version(self.name, number)
        except Exception as exc:
            if tracking.error_code(exc) != "PERMISSION_DENIED":
                raise
            log.info(
                "version %s of '%s': this account may not delete versions; marked %s",
                number,
                self.name,
                WITHDRAWN,
            )
            self.client.set_model_version_tag(self.name, number, REGISTRATION_TAG, WITHDRAWN)

    def settle_pending(self, versions: list[ModelVersion]) -> dict[str, str]:
        """Re-check every pending version, oldest first: versions whose registration was
        interrupted (or is running in another process right now, which reaches the same
        answer). Returns each one's fate: ``kept`` or ``withdrawn``."""
        fates = {}
        for version in versions:
            if registration_state(version) != PENDING:
                continue
            survival = self.settle(str(version.version))
            fates[str(version.version)] = KEPT if survival and survival.keeps else WITHDRAWN
            # Pending may also mean another process is between creating and settling it right
            # now; both reach the same answer, so this is a re-check, not always a repair.
            log.info(
                "re-checked pending version %s of '%s': %s",
                version.version,
                self.name,
                fates[str(version.version)],
            )
        return fates

    def update_challenger(self, required: bool) -> tuple[str | None, list[str]]:
        """Point ``@challenger`` at the best kept version, if ``required`` (a version was kept by
        this call), a kept version still waits for it, or the alias is missing. Every move is read
        back, and repeated until a read after it finds the alias on the best version; only then
        are the kept versions marked complete. Returns the alias and the versions moved to."""
        moved: list[str] = []
        for _ in range(CHALLENGER_ROUNDS):
            versions = all_versions(self.uri, self.name)
            current = self.challenger()
            waiting = [v for v in versions if registration_state(v) == KEPT]
            if not (required or moved or waiting or current is None):
                return current, moved
            target = challenger_target(versions, self.metric, self.greater_is_better)
            if target is None:
                return current, moved
            if current != str(target.version):
                try:
                    self.client.set_registered_model_alias(
                        self.name, CHALLENGER, str(target.version)
                    )
                except Exception as exc:
                    # Two processes moving it at once collide on the alias row's unique key
                    # (:mod:`.store_writes`). The loser reads back and tries again.
                    if not lost_insert_race(exc):
                        raise
                    continue
                moved.append(str(target.version))
                continue  # read back: a concurrent registration may have moved it since
            for version in waiting:
                try:
                    self.client.set_model_version_tag(
                        self.name, str(version.version), REGISTRATION_TAG, COMPLETE
                    )
                except Exception as exc:
                    if not tracking.is_not_found(exc):
                        raise
            return current, moved
        log.warning(
            "@%s of '%s' kept moving for %d rounds; run register again to confirm it",
            CHALLENGER,
            self.name,
            CHALLENGER_ROUNDS,
        )
        return self.challenger(), moved
