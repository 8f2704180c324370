"""The registration gate, as pure functions over the evaluate stage's report
(:class:`~summarizer.evaluation.report.EvaluationReport`): does a run beat the dataset's
baseline, and do its test predictions look like a working summarizer (distinct, non-empty, not
looping)? Applied by :mod:`.registration`; thresholds from ``register``.

A registered version stores what the gate measured (:func:`gate_tags`, beside its
``metric.<key>`` tags), so :func:`gate_from_tags` judges it again from those tags alone, with the
thresholds of now: :mod:`.promotion` re-applies the gate to every version it would crown,
including one created by hand, whose missing tags fail the gate ("cannot be verified")."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from summarizer.config.registry import RegisterParams
from summarizer.registry.metadata import (
    BASELINE_TAG,
    CHECK_TAG,
    METRIC_TAG,
    finite,
    selection_metric,
    stored_metrics,
    unusable_metric,
)
from summarizer.registry.model_card import GateRow
from summarizer.registry.policy import is_better

if TYPE_CHECKING:
    # Not imported at run time: the evaluation package imports rouge-score, which a serving
    # machine (whose pyfunc imports this package) does not have. A report is passed in.
    from summarizer.evaluation.report import EvaluationReport


@dataclass(frozen=True)
class GateCheck:
    """One condition of the registration gate: what was measured, the limit, and the verdict."""

    name: str
    value: float | None
    threshold: float | None
    passed: bool
    reason: str  # why it failed, as the report and the run state it ("" when it passed)


@dataclass(frozen=True)
class GateVerdict:
    """All conditions of the registration gate; the run may become a version only if all pass."""

    checks: tuple[GateCheck, ...] = ()
    applied: bool = True  # False: no evaluation report was given, only the smoke check applies

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [check.reason for check in self.checks if not check.passed]

    def with_checks(self, *checks: GateCheck) -> GateVerdict:
        return GateVerdict((*self.checks, *checks), applied=self.applied)

    def to_report(self) -> dict[str, Any]:
        """The gate as ``reports/register.json`` records it."""
        return {
            "applied": self.applied,
            "passed": self.passed,
            "reasons": self.reasons,
            "checks": {
                check.name: {
                    "value": check.value,
                    "threshold": check.threshold,
                    "passed": check.passed,
                }
                for check in self.checks
            },
        }


NOT_APPLIED = GateVerdict(applied=False)


def gate_rows(verdict: GateVerdict) -> list[GateRow]:
    """The verdict's checks as a model card lists them."""
    return [
        GateRow(name=c.name, value=c.value, threshold=c.threshold, passed=c.passed)
        for c in verdict.checks
    ]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def baseline_check(
    value: float, evaluation: EvaluationReport, settings: RegisterParams
) -> list[GateCheck]:
    """The run must strictly beat every baseline of the evaluation report on ``settings.metric``;
    a report without a baseline scored on it fails (the gate cannot be verified)."""
    metric = settings.metric
    scored = {
        name: _number(scores.get(metric))
        for name, scores in evaluation.baselines.items()
        if _number(scores.get(metric)) is not None
    }
    if not scored:
        return [
            GateCheck(
                "baseline",
                None,
                None,
                False,
                f"the evaluation report has no baseline ('{evaluation.baseline_key('*')}') "
                f"scored on {metric}; run the evaluate stage",
            )
        ]
    return _baseline_comparisons(value, metric, settings.greater_is_better, scored)


def _baseline_comparisons(
    value: float, metric: str, greater_is_better: bool, scored: Mapping[str, float | None]
) -> list[GateCheck]:
    checks = []
    for name, baseline_value in sorted(scored.items()):
        assert baseline_value is not None
        passed = is_better(value, baseline_value, greater_is_better)
        checks.append(
            GateCheck(
                f"baseline_{name}",
                value,
                baseline_value,
                passed,
                ""
                if passed
                else f"{metric} {value:.4f} does not beat the baseline {name} "
                f"({baseline_value:.4f})",
            )
        )
    return checks


# check name (EvaluationReport.checks) -> (RegisterParams field, the limit is a minimum)
DEGENERACY_LIMITS = {
    "distinct_prediction_share": ("min_distinct_share", True),
    "empty_prediction_share": ("max_empty_share", False),
    "repeated_trigram_rate": ("max_repeated_trigram_rate", False),
}


def degeneracy_checks(evaluation: EvaluationReport, settings: RegisterParams) -> list[GateCheck]:
    """The evaluation report's degeneracy checks against the thresholds in ``settings``; a
    missing check fails (the gate cannot be verified)."""
    measured = {} if evaluation.checks is None else evaluation.checks.model_dump()
    return _degeneracy(
        {name: _number(measured.get(name)) for name in DEGENERACY_LIMITS},
        settings,
        lambda name: (
            f"the evaluation report has no {evaluation.check_key(name)}; run the evaluate stage"
        ),
    )


def _degeneracy(
    measured: Mapping[str, float | None],
    settings: RegisterParams,
    missing: Callable[[str], str],
) -> list[GateCheck]:
    checks = []
    for name, (setting, is_minimum) in DEGENERACY_LIMITS.items():
        threshold = float(getattr(settings, setting))
        value = measured.get(name)
        if value is None:
            checks.append(GateCheck(name, None, threshold, False, missing(name)))
            continue
        passed = value >= threshold if is_minimum else value <= threshold
        comparison = "below the minimum" if is_minimum else "above the maximum"
        reason = (
            ""
            if passed
            else f"{name} {value:.4f} is {comparison} {threshold:g} (register.{setting})"
        )
        checks.append(GateCheck(name, value, threshold, passed, reason))
    return checks


def gate_registration(
    value: float, evaluation: EvaluationReport, settings: RegisterParams
) -> GateVerdict:
    """May a run whose ``settings.metric`` is ``value`` become a version at all? It must beat the
    baseline (if ``register.require_beat_baseline``) and pass every degeneracy check of the
    evaluation report, whatever the registered versions score."""
    checks: list[GateCheck] = []
    if settings.require_beat_baseline:
        checks.extend(baseline_check(value, evaluation, settings))
    checks.extend(degeneracy_checks(evaluation, settings))
    return GateVerdict(tuple(checks))


def gate_tags(verdict: GateVerdict) -> dict[str, str]:
    """Version tags that store what the gate measured (baseline values and checks)."""
    tags = {}
    for check in verdict.checks:
        if check.name.startswith("baseline_") and check.threshold is not None:
            tags[f"{BASELINE_TAG}{check.name.removeprefix('baseline_')}"] = str(check.threshold)
        elif check.name in DEGENERACY_LIMITS and check.value is not None:
            tags[f"{CHECK_TAG}{check.name}"] = str(check.value)
    return tags


# ------------------------------------------------------------------------ the gate from tags
UNVERIFIED = "the gate cannot be verified"


def gate_from_tags(tags: Mapping[str, str], settings: RegisterParams) -> GateVerdict:
    """The registration gate re-applied to a registered version, from its tags alone: the
    version's score (``metric.<key>``, the metric it was selected by, else ``settings.metric``)
    must strictly beat every stored baseline (``baseline.<name>``: the baseline's score on that
    metric) if ``settings.require_beat_baseline``, and each stored degeneracy check
    (``check.<name>``) must be within the thresholds of ``settings``.

    Whatever cannot be read fails, naming what is missing ("the gate cannot be verified"): the
    score (or a score that is not a finite number), the baselines when required, any check. A
    version registered by the register stage stores all of them; one created by hand stores
    none, and is never promoted on trust. The smoke check is not stored: the caller runs it.
    """
    metric = selection_metric(tags, settings.metric)
    value = stored_metrics(tags).get(metric)
    checks: list[GateCheck] = []
    if value is None:
        unusable = unusable_metric(tags, metric)
        reason = (
            f"{UNVERIFIED}: the version stores no {metric} (tag {METRIC_TAG}{metric})"
            if unusable is None
            else f"{UNVERIFIED}: its {metric} is {unusable!r} (tag {METRIC_TAG}{metric}), "
            "not a finite number"
        )
        checks.append(GateCheck(metric, None, None, False, reason))
    if settings.require_beat_baseline:
        stored = {
            key.removeprefix(BASELINE_TAG): text
            for key, text in tags.items()
            if key.startswith(BASELINE_TAG)
        }
        unreadable = sorted(name for name, text in stored.items() if finite(text) is None)
        if not stored or unreadable:
            missing = (
                f"no {BASELINE_TAG}<name> tag (the baseline's {metric})"
                if not stored
                else ", ".join(f"{BASELINE_TAG}{n} is {stored[n]!r}" for n in unreadable)
                + ", not a finite number"
            )
            checks.append(GateCheck("baseline", None, None, False, f"{UNVERIFIED}: {missing}"))
        elif value is not None:
            scored = {name: finite(text) for name, text in stored.items()}
            checks.extend(_baseline_comparisons(value, metric, settings.greater_is_better, scored))
    checks.extend(
        _degeneracy(
            {name: finite(tags.get(f"{CHECK_TAG}{name}")) for name in DEGENERACY_LIMITS},
            settings,
            lambda name: f"{UNVERIFIED}: no finite {CHECK_TAG}{name} tag",
        )
    )
    return GateVerdict(tuple(checks))
