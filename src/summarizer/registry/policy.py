"""The registry's decisions, as pure functions over version metadata: no MLflow, no I/O.

Is a run better than every registered version? Does a version just created survive the re-check
against the versions created before it? Which version should ``@challenger`` point at? May a
version become ``@champion``? Where does a rollback go? Each answer is computed here from what
the registry stores on each version (its tags, read by :mod:`.metadata`) and applied by
:mod:`.registration` and :mod:`.promotion`, so the rules can be tested in milliseconds and read
in one place. Whether a run passes the gate is :mod:`.gate`; whether a model's smoke summaries
look like a summarizer, :mod:`.smoke`.

Registration is optimistic, so that it is atomic on any store without a lock (see
:mod:`.registration`): a version is created ``pending``, then :func:`survives` decides from the
versions numbered below it, which the store created before it, whether it stays. The rule only
reads stored tags, so every process that applies it to a version reaches the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from summarizer.config.registry import RegisterParams
from summarizer.registry.errors import RegistryError
from summarizer.registry.metadata import (
    CHAMPION,
    INTERVAL_SUFFIXES,
    PREVIOUS_CHAMPION_TAG,
    VersionInfo,
    is_decided,
    selection_metric,
    stored_metric,
    unusable_metric,
)


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


# ------------------------------------------------------------------ concurrent registration
@dataclass(frozen=True)
class Survival:
    """Whether a newly created version stays, and the earlier version that beats it if not."""

    keeps: bool
    beaten_by: VersionInfo | None = None
    beaten_value: float | None = None
    earlier: list[str] = field(default_factory=list)  # the versions it was compared with

    def reason(self, metric: str, value: float | None) -> str:
        if self.keeps or self.beaten_by is None:
            return ""
        shown = "?" if value is None else f"{value:.4f}"
        return (
            f"{metric} {shown} does not beat version {self.beaten_by.version} "
            f"({self.beaten_value:.4f}), registered concurrently"
        )


def survives(
    candidate: VersionInfo,
    versions: Iterable[VersionInfo],
    metric: str,
    greater_is_better: bool,
) -> Survival:
    """Does ``candidate`` stay a version? Only if its stored ``metric`` strictly beats every
    version numbered below it (created before it) that stores one, pending or not.

    Version numbers are given by the store in creation order, and a version is judged only by
    the versions below it, so the survivors are exactly what registering one run after another,
    in version order, would have kept: two equal runs registered at once keep the first one. A
    pending version below still counts: if its own re-check removes it, a version below it beat
    it, and that one beats ``candidate`` too. A candidate without the metric stays (it cannot be
    ranked; nothing registered here creates one).
    """
    number = int(candidate.version)
    value = stored_metric(candidate, metric)
    earlier = [v for v in versions if int(v.version) < number]
    listed = [str(v.version) for v in earlier]
    if value is None:
        return Survival(True, earlier=listed)
    for version in earlier:
        other = stored_metric(version, metric)
        if other is not None and not is_better(value, other, greater_is_better):
            return Survival(False, version, other, listed)
    return Survival(True, earlier=listed)


def challenger_target(
    versions: Iterable[VersionInfo], metric: str, greater_is_better: bool
) -> VersionInfo | None:
    """The version ``@challenger`` belongs on: the best decided (not pending) version by its
    stored ``metric``, the earliest on a tie; None if no decided version stores the metric."""
    return best_version([v for v in versions if is_decided(v)], metric, greater_is_better).version


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
    settings: RegisterParams | None = None,
    *,
    force: bool = False,
) -> PromotionGuard:
    """May ``target`` replace ``champion``? Not if its metric is worse, unless ``force``.

    The metric and its direction are those of ``settings`` (the ``register`` section); without
    settings, the metric is the one ``target`` was selected by (else the default of
    ``register.metric``). A target whose metric tag is not a finite number (``nan``, ``inf``)
    is refused whatever ``force`` says: it cannot be compared with anything, and nan compares
    False with every score. A target without the metric is treated as worse; a champion without
    a finite one does not block (the check says so). ``force`` overrides the comparison only: the
    gate, loading and the smoke prediction are checked by the caller and never overridden.
    """
    if settings is None:
        defaults = RegisterParams()
        metric = selection_metric(target.tags, defaults.metric)
        greater_is_better = defaults.greater_is_better
    else:
        metric, greater_is_better = settings.metric, settings.greater_is_better
    unusable = unusable_metric(target.tags, metric)
    if unusable is not None:
        return PromotionGuard(
            False,
            f"not promotable: its {metric} is {unusable!r}, not a finite number, so it cannot "
            "be compared with any score (--force does not override this)",
        )
    if champion is None:
        return PromotionGuard(True, "ok (no current champion)")
    value = stored_metric(target, metric)
    champion_value = stored_metric(champion, metric)
    if value is None:
        comparison = f"cannot compare: {metric} missing on version {target.version}"
        worse = True
    elif champion_value is None:
        unusable = unusable_metric(champion.tags, metric)
        comparison = (
            f"cannot compare: {metric} missing on version {champion.version}"
            if unusable is None
            else f"cannot compare: the champion version {champion.version} has {metric} "
            f"{unusable!r}, not a finite number, so it does not block"
        )
        worse = False
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
