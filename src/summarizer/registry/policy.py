"""The registry's decisions, as pure functions over version metadata: no MLflow, no I/O.

Is a run better than
every registered version? Does a version just created survive the re-check against the versions
created before it? Which version should ``@challenger`` point at? Does a smoke prediction look
like a working summarizer? May a version become ``@champion``? Where does a rollback go? Each
answer is computed here from what the registry stores on each version (its tags) and applied by
:mod:`.registration` and :mod:`.promotion`, so the rules can be tested in milliseconds and read
in one place.

Metrics are stored as version tags (``metric.<key>``), not as MLflow metrics, because tags are
what a model version has; every comparison reads them, never a value this process remembers.

Registration is optimistic, so that it is atomic on any store without a lock (see
:mod:`.registration`): a version is created ``pending``, then :func:`survives` decides from the
versions numbered below it, which the store created before it, whether it stays. The rule only
reads stored tags, so every process that applies it to a version reaches the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from summarizer.errors import SummarizerError

CHAMPION = "champion"
CHALLENGER = "challenger"
DEFAULT_METRIC = "rougeL_f"

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

# In reports/evaluation.json (written by the evaluate stage).
BASELINE_PREFIX = "baseline_"  # baseline_<evaluate.baseline>_<evaluate.lead_n>
CHECKS_KEY = "checks"

# Confidence bounds of a metric: reported by evaluate, never ranked on or stored as tags.
INTERVAL_SUFFIXES = ("_low", "_high")


class RegistryError(SummarizerError):
    """A registered model, alias or version is missing, or the registry refused a change."""


class PromotionRefused(RegistryError):
    """A guard rail (gate, metric, load, smoke prediction) stopped a promotion."""


class PromotionConflict(RegistryError):
    """``@champion`` moved under a promotion (another promote or a rollback at the same time
    won); this promotion changed nothing."""


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


# ---------------------------------------------------------------------------------- smoke test
SMOKE_MIN_DISTINCT_SHARE = 0.5  # of the smoke summaries, at least half must differ
# Of one smoke summary's words, the largest share that may repeat a word the summary already
# wrote. A model caught in a loop writes mostly repeats: "the the the next the the three the the
# tuesday" repeats 6 of its 10 words. Headlines hardly repeat a word: the default model's worst
# stutters repeat 1 in 9 ("bank of us markets to remain calm in calm") and 1 in 7 ("factory
# orders orders #.# percent in september"), a quality issue the ROUGE gate already weighs; the
# barely trained test model stays at or below 1 in 2 ("heavy dutch dutch tin dutch international
# international dutch"), poor but still writing about each document. So a summary fails when
# more than half of its words are repeats: a loop, not a stutter.
SMOKE_MAX_REPEATED_SHARE = 0.5


def repeated_share(words: Sequence[str]) -> float:
    """The share of ``words`` that repeat a word already written (0 for no word)."""
    return (len(words) - len(set(words))) / len(words) if words else 0.0


def smoke_problems(documents: Sequence[str], summaries: Sequence[Any]) -> list[str]:
    """What makes smoke summaries of ``documents`` (news on unrelated topics) unlike the work of
    a summarizer: a missing or empty summary, a summary that is one word repeated ("on on") or
    mostly repeats of its own words (more than :data:`SMOKE_MAX_REPEATED_SHARE`: "the the the
    next the the three ..."), the same summary for most documents, or so few different words over
    all summaries that the model writes the same few words for everything. Empty when they look
    fine."""
    if len(summaries) != len(documents) or not all(isinstance(s, str) for s in summaries):
        return [f"expected {len(documents)} summaries (strings), got {list(summaries)!r}"]
    problems = []
    tokens = [summary.split() for summary in summaries]
    empty = [row for row, words in enumerate(tokens) if not words]
    if empty:
        problems.append(f"empty summary for document(s) {', '.join(map(str, empty))}")
    repeated = [
        summaries[row]
        for row, words in enumerate(tokens)
        if len(words) > 1 and len(set(words)) == 1
    ]
    if repeated:
        problems.append(f"summary made of one word repeated: {repeated[0]!r}")
    looping = [
        row
        for row, words in enumerate(tokens)
        if len(set(words)) > 1 and repeated_share(words) > SMOKE_MAX_REPEATED_SHARE
    ]
    if looping:
        words = tokens[looping[0]]
        problems.append(
            f"summary of document(s) {', '.join(map(str, looping))} mostly repeating its own "
            f"words: {len(words) - len(set(words))} of {len(words)} words are repeats in "
            f"{summaries[looping[0]]!r} (at most {SMOKE_MAX_REPEATED_SHARE:.0%} may be)"
        )
    if len(documents) > 1:
        distinct = len({" ".join(words) for words in tokens})
        if distinct < SMOKE_MIN_DISTINCT_SHARE * len(documents):
            problems.append(
                f"{distinct} distinct summaries for {len(documents)} unrelated documents"
            )
        vocabulary = {word for words in tokens for word in words}
        if len(vocabulary) < len(documents):
            problems.append(
                f"{len(vocabulary)} different words over the summaries of {len(documents)} "
                f"unrelated documents ({', '.join(sorted(vocabulary)) or 'none'})"
            )
    return problems


# ------------------------------------------------------------------ concurrent registration
def registration_state(version: VersionInfo) -> str:
    """``pending``, ``kept`` or ``complete``; a version without the tag counts as complete."""
    return version.tags.get(REGISTRATION_TAG, COMPLETE)


def is_decided(version: VersionInfo) -> bool:
    """Whether the version passed its re-check (or needed none): a candidate for @challenger."""
    return registration_state(version) not in (PENDING, WITHDRAWN)


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
    *,
    metric: str | None = None,
    greater_is_better: bool = True,
    force: bool = False,
) -> PromotionGuard:
    """May ``target`` replace ``champion``? Not if its metric is worse, unless ``force``.

    The metric is ``metric`` if given, else the one ``target`` was selected by. A target whose
    metric tag is not a finite number (``nan``, ``inf``) is refused whatever ``force`` says: it
    cannot be compared with anything, and nan compares False with every score. A target without
    the metric is treated as worse; a champion without a finite one does not block (the check
    says so). ``force`` overrides the comparison only: the gate, loading and the smoke prediction
    are checked by the caller and never overridden.
    """
    metric = metric or target.tags.get(SELECTION_TAG) or DEFAULT_METRIC
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
