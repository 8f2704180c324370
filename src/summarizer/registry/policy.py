"""The registry's decisions, as pure functions over version metadata: no MLflow, no I/O.

Is a run better than every registered version? Which version is the best? May a version become
``@champion``? Where does a rollback go? Each answer is computed here from what the registry
stores on each version (its tags) and applied by :mod:`.registration` and :mod:`.promotion`, so
the rules can be tested in milliseconds and read in one place.

Metrics are stored as version tags (``metric.<key>``), not as MLflow metrics, because tags are
what a model version has; every comparison reads them, never a value this process remembers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from summarizer.errors import SummarizerError

CHAMPION = "champion"
CHALLENGER = "challenger"
DEFAULT_METRIC = "rougeL_f"

# Version tags.
METRIC_TAG = "metric."
SELECTION_TAG = "selection_metric"
PREVIOUS_CHAMPION_TAG = "previous_champion"

# Confidence bounds of a metric: reported by evaluate, never ranked on or stored as tags.
INTERVAL_SUFFIXES = ("_low", "_high")


class RegistryError(SummarizerError):
    """A registered model, alias or version is missing, or the registry refused a change."""


class PromotionRefused(RegistryError):
    """A guard rail (load, smoke prediction, metric) stopped a promotion."""


class VersionInfo(Protocol):
    """What the decisions read of a model version; MLflow's ``ModelVersion`` has these."""

    @property
    def version(self) -> str | int: ...

    @property
    def run_id(self) -> str | None: ...

    @property
    def tags(self) -> Mapping[str, str]: ...


# ------------------------------------------------------------------------------ stored metrics
def metric_tags(test_metrics: Mapping[str, Any]) -> dict[str, str]:
    """The version tags that store ``test_metrics``: numeric point estimates only (confidence
    bounds would double the tags for little use in a table)."""
    return {
        f"{METRIC_TAG}{key}": str(value)
        for key, value in test_metrics.items()
        if isinstance(value, (int, float)) and not key.endswith(INTERVAL_SUFFIXES)
    }


def stored_metrics(tags: Mapping[str, str]) -> dict[str, float]:
    """Every metric stored in a version's tags; a tag that is not a number is left out."""
    metrics = {}
    for key, value in tags.items():
        if key.startswith(METRIC_TAG):
            try:
                metrics[key.removeprefix(METRIC_TAG)] = float(value)
            except ValueError:
                continue
    return metrics


def stored_metric(version: VersionInfo, metric: str) -> float | None:
    """``metric`` as stored on ``version``, or None when it has none (or not a number)."""
    return stored_metrics(version.tags).get(metric)


def is_better(value: float, than: float, greater_is_better: bool) -> bool:
    """Strictly better: an equal value never counts as an improvement."""
    return value > than if greater_is_better else value < than


def selection_value(test_metrics: Mapping[str, Any], metric: str) -> float:
    """The run's value of the selection metric, or an error listing the metrics there are."""
    if metric not in test_metrics:
        available = ", ".join(k for k in test_metrics if not k.endswith(INTERVAL_SUFFIXES))
        raise RegistryError(
            f"register.metric '{metric}' is not among the test metrics ({available})"
        )
    return float(test_metrics[metric])


# ------------------------------------------------------------------------------- registration
class Best(NamedTuple):
    """The best version by a metric, its value, and the versions that could not be ranked."""

    version: VersionInfo | None
    value: float | None
    incomparable: list[str]


def best_version(versions: Iterable[VersionInfo], metric: str, greater_is_better: bool) -> Best:
    """The version with the best stored ``metric`` (the earliest one on a tie), and the versions
    without the metric, which are left out of the ranking."""
    best, best_value, incomparable = None, None, []
    for version in versions:
        value = stored_metric(version, metric)
        if value is None:
            incomparable.append(str(version.version))
        elif best_value is None or is_better(value, best_value, greater_is_better):
            best, best_value = version, value
    return Best(best, best_value, incomparable)


@dataclass(frozen=True)
class RegistrationDecision:
    """Whether a run becomes a new version, and why (the text recorded on the run and report)."""

    register: bool
    reason: str
    metric: str
    value: float  # the run's value of ``metric``
    best: Best
    previous: str  # the best before this run, as the new version's description states it

    @property
    def best_before(self) -> dict[str, Any] | None:
        """The best version before this run, as ``reports/register.json`` records it."""
        if self.best.version is None:
            return None
        return {"version": str(self.best.version.version), "value": self.best.value}


def decide_registration(
    value: float,
    metric: str,
    greater_is_better: bool,
    versions: Sequence[VersionInfo],
    run_id: str,
) -> RegistrationDecision:
    """Register only a run whose ``value`` strictly beats every version that stores ``metric``;
    the first version, or one among versions that all lack the metric, is always registered."""
    best = best_version(versions, metric, greater_is_better)
    if best.version is None:
        previous = "first version"
    else:
        previous = f"previous best: version {best.version.version} ({best.value:.4f})"
    if best.version is None or is_better(value, best.value, greater_is_better):  # type: ignore[arg-type]
        reason = f"{metric} {value:.4f} beats every earlier version ({previous})"
        return RegistrationDecision(True, reason, metric, value, best, previous)
    same_run = [str(v.version) for v in versions if v.run_id == run_id]
    reason = (
        f"{metric} {value:.4f} does not beat version {best.version.version} ({best.value:.4f})"
        + (f"; this run is already version {', '.join(same_run)}" if same_run else "")
    )
    return RegistrationDecision(False, reason, metric, value, best, previous)


# ---------------------------------------------------------------------------------- promotion
@dataclass(frozen=True)
class PromotionGuard:
    """The metric guard's verdict on a promotion: ``check`` is what the promotion records when
    it passes; when it does not, ``check`` says why (the text after "version N of 'name' is")."""

    passed: bool
    check: str


def guard_promotion(
    target: VersionInfo,
    champion: VersionInfo | None,
    *,
    metric: str | None = None,
    greater_is_better: bool = True,
    force: bool = False,
) -> PromotionGuard:
    """May ``target`` replace ``champion``? Not if its metric is worse, unless ``force``.

    The metric is ``metric`` if given, else the one ``target`` was selected by. A champion without
    the metric does not block; a target without it is treated as worse. ``force`` overrides this
    guard only: loading and the smoke prediction are checked by the caller and never overridden.
    """
    metric = metric or target.tags.get(SELECTION_TAG) or DEFAULT_METRIC
    if champion is None:
        return PromotionGuard(True, "ok (no current champion)")
    value = stored_metric(target, metric)
    champion_value = stored_metric(champion, metric)
    if value is None or champion_value is None:
        missing_on = target.version if value is None else champion.version
        comparison = f"cannot compare: {metric} missing on version {missing_on}"
        worse = value is None
    else:
        worse = is_better(champion_value, value, greater_is_better)
        comparison = (
            f"{metric} {value:.4f} vs champion version {champion.version} {champion_value:.4f}"
        )
    if worse and not force:
        return PromotionGuard(
            False, f"worse than the champion ({comparison}); use --force to promote it anyway"
        )
    return PromotionGuard(True, ("overridden by --force: " if worse else "ok: ") + comparison)


def rollback_target(name: str, champion: VersionInfo | None) -> str:
    """The version ``@champion`` goes back to: the one it replaced, as recorded at promotion."""
    if champion is None:
        raise RegistryError(f"model '{name}' has no @{CHAMPION}; nothing to roll back")
    previous = champion.tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise RegistryError(
            f"@{CHAMPION} (version {champion.version} of '{name}') replaced no earlier champion; "
            "nothing to roll back to (use promote --version to choose one)"
        )
    return previous
