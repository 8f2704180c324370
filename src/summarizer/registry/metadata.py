"""What the registry stores on a model version, and how it is read back: pure functions over
tags, no MLflow, no I/O.

Metrics are stored as version tags (``metric.<key>``), not as MLflow metrics, because tags are
what a model version has; every comparison reads them, never a value this process remembers. A
tag that is not a finite number reads as a missing metric. Where a version's registration stands
is a tag too (:data:`REGISTRATION_TAG`), so any process reading it reaches the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

# Aliases (MLflow 3 has no stages).
CHAMPION = "champion"
CHALLENGER = "challenger"

# Version tags.
METRIC_TAG = "metric."
SELECTION_TAG = "selection_metric"
PREVIOUS_CHAMPION_TAG = "previous_champion"
BASELINE_TAG = "baseline."  # the baseline's value of each ranked metric, beside the version's
CHECK_TAG = "check."  # the degeneracy checks the version passed

# Where a registration stands, as a version tag. A version without the tag (registered by hand,
# or before the tag existed) counts as complete.
REGISTRATION_TAG = "registration"
PENDING = "pending"  # created; not yet re-checked against the versions created before it
KEPT = "kept"  # re-checked and kept; @challenger not yet confirmed
COMPLETE = "complete"  # kept, and @challenger was confirmed on the best version since
# Beaten in its re-check, but the account registering it may not delete versions (EDIT on a
# server with logins): never a candidate for an alias, to be deleted by someone with MANAGE.
WITHDRAWN = "withdrawn"

# Confidence bounds of a metric: reported by evaluate, never ranked on or stored as tags.
INTERVAL_SUFFIXES = ("_low", "_high")


class VersionInfo(Protocol):
    """What the decisions read of a model version; MLflow's ``ModelVersion`` has these."""

    @property
    def version(self) -> str | int: ...

    @property
    def run_id(self) -> str | None: ...

    @property
    def tags(self) -> Mapping[str, str]: ...


# ------------------------------------------------------------------------------------ metrics
def metric_tags(test_metrics: Mapping[str, Any]) -> dict[str, str]:
    """The version tags that store ``test_metrics``: numeric point estimates only (confidence
    bounds would double the tags for little use in a table)."""
    return {
        f"{METRIC_TAG}{key}": str(value)
        for key, value in test_metrics.items()
        if isinstance(value, (int, float)) and not key.endswith(INTERVAL_SUFFIXES)
    }


def finite(text: str | None) -> float | None:
    """``text`` as a finite number, or None: ``float("nan")`` parses, but nan compares False
    with everything (a nan score would "not be worse" than any champion), and an infinite score
    beats every real one; neither is a score."""
    if text is None:
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def stored_metrics(tags: Mapping[str, str]) -> dict[str, float]:
    """Every metric stored in a version's tags; a tag that is not a finite number (``n/a``,
    ``nan``, ``inf``) is left out, as if the metric were missing."""
    metrics = {}
    for key, value in tags.items():
        if key.startswith(METRIC_TAG) and (number := finite(value)) is not None:
            metrics[key.removeprefix(METRIC_TAG)] = number
    return metrics


def stored_metric(version: VersionInfo, metric: str) -> float | None:
    """``metric`` as stored on ``version``, or None when it has none (or not a finite number)."""
    return stored_metrics(version.tags).get(metric)


def unusable_metric(tags: Mapping[str, str], metric: str) -> str | None:
    """The text of ``metric``'s tag when there is one but it is not a finite number (``nan``,
    ``inf``, ``n/a``); None when the tag is missing or holds a finite number."""
    text = tags.get(f"{METRIC_TAG}{metric}")
    return text if text is not None and finite(text) is None else None


def selection_metric(tags: Mapping[str, str], default: str) -> str:
    """The metric a version was selected by when it was registered, else ``default``."""
    return tags.get(SELECTION_TAG) or default


# ------------------------------------------------------------------------------- registration
def registration_state(version: VersionInfo) -> str:
    """``pending``, ``kept``, ``complete`` or ``withdrawn``; a version without the tag counts
    as complete."""
    return version.tags.get(REGISTRATION_TAG, COMPLETE)


def is_decided(version: VersionInfo) -> bool:
    """Whether the version passed its re-check (or needed none): a candidate for @challenger."""
    return registration_state(version) not in (PENDING, WITHDRAWN)
