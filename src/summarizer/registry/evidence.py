"""Better on evidence, not on noise: a candidate against the version it would replace, by a
paired test over their test examples (:mod:`.comparison`), with the rule of ``register``
(``significance``, ``min_difference``).

``register`` asks it of a run that beats the best version by its point estimate; ``promote`` of
a version against ``@champion``. A candidate that is not better beyond noise is "equal within
noise", with the numbers. Two evaluations that cannot be compared (other test examples or
scoring options, or a version evaluated before predictions were logged) are "not compared",
said so, and the point estimates decide as they did before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from summarizer.config.registry import RegisterParams
from summarizer.registry.comparison import compare, load_scored_examples
from summarizer.registry.errors import RegistryError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)

BETTER = "better"
EQUAL = "equal within noise"
NOT_COMPARED = "not compared"
COMPARISON_TAG = "comparison."  # version tags: the evidence it was registered on


@dataclass(frozen=True)
class Evidence:
    """The candidate against version ``against`` on ``metric``: the verdict and its numbers."""

    against: str
    metric: str
    verdict: str  # BETTER | EQUAL | NOT_COMPARED
    significance: float
    min_difference: float
    comparison: dict[str, Any] = field(default_factory=dict)  # PairedComparison.to_dict()
    why_not_compared: str = ""

    @property
    def better(self) -> bool:
        return self.verdict != EQUAL

    def summary(self) -> str:
        """One line for reasons, run tags and messages."""
        if self.verdict == NOT_COMPARED:
            return f"not compared with version {self.against}: {self.why_not_compared}"
        c = self.comparison
        return (
            f"{self.verdict} against version {self.against}: {c['metric']} "
            f"{c['difference']:+.2f} [{c['low']:.2f}, {c['high']:.2f}] "
            f"({100 * c['confidence']:g}% paired bootstrap), p = {c['p_value']:.3g} "
            f"(register.significance {self.significance:g}), examples won "
            f"{c['wins_b']} vs {c['wins_a']} of {c['examples']}"
        )

    def tags(self) -> dict[str, str]:
        """Version tags recording the evidence the version was registered or promoted on."""
        tags = {f"{COMPARISON_TAG}against": self.against, f"{COMPARISON_TAG}verdict": self.verdict}
        for key in ("difference", "low", "high", "p_value", "examples"):
            if key in self.comparison:
                tags[f"{COMPARISON_TAG}{key}"] = str(self.comparison[key])
        return tags

    def to_report(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "metric": self.metric,
            "verdict": self.verdict,
            "significance": self.significance,
            "min_difference": self.min_difference,
            **({"comparison": self.comparison} if self.comparison else {}),
            **({"why_not_compared": self.why_not_compared} if self.why_not_compared else {}),
        }


def weigh(
    uri: str,
    candidate_run: str | None,
    candidate_label: str,
    incumbent: ModelVersion,
    settings: RegisterParams,
) -> Evidence:
    """The candidate (evaluated in run ``candidate_run``) against registered version
    ``incumbent`` on ``settings.metric``: better beyond noise, equal within it, or not
    comparable. ``settings.significance`` must be set."""
    assert settings.significance is not None
    against = str(incumbent.version)
    base = {
        "against": against,
        "metric": settings.metric,
        "significance": settings.significance,
        "min_difference": settings.min_difference,
    }
    try:
        if not incumbent.run_id:
            raise RegistryError(f"version {against} has no run to read its predictions from")
        if not candidate_run:
            raise RegistryError(f"{candidate_label} has no run to read its predictions from")
        reference = load_scored_examples(uri, incumbent.run_id, f"version {against}")
        candidate = load_scored_examples(uri, candidate_run, candidate_label)
        (result,) = compare(
            reference,
            candidate,
            [settings.metric],
            greater_is_better=settings.greater_is_better,
        )
    except RegistryError as exc:
        # Said where the verdict is shown: register's reason, promote's checks.
        log.debug("%s: not compared with version %s: %s", candidate_label, against, exc)
        return Evidence(verdict=NOT_COMPARED, why_not_compared=str(exc), **base)
    verdict = (
        BETTER if result.significant(settings.significance, settings.min_difference) else EQUAL
    )
    return Evidence(verdict=verdict, comparison=result.to_dict(), **base)
