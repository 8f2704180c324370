"""Writes to the registry that other processes may race: MLflow's SQL store inserts a missing
tag or alias row, two processes inserting it at once collide on its unique key, and the one that
lost may write again (the row exists then)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# Attempts of one write that keeps losing insert races before its error is raised.
WRITE_ATTEMPTS = 5


def lost_insert_race(exc: BaseException) -> bool:
    """Whether ``exc`` is the store refusing a row another process inserted first."""
    return "unique constraint" in str(exc).lower()


def retried(write: Callable[[], T]) -> T:
    """``write()``, again when it lost an insert race on a unique key."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return write()
        except Exception as exc:
            if attempt == WRITE_ATTEMPTS or not lost_insert_race(exc):
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def tag_version(client: Any, name: str, version: str, tags: Mapping[str, str]) -> None:
    """Set ``tags`` on version ``version`` of ``name``, one by one, in order."""
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
