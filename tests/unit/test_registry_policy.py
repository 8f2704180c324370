"""The registry's decisions over plain version metadata: no MLflow, no store, milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from summarizer.registry.policy import (
    RegistryError,
    best_version,
    decide_registration,
    guard_promotion,
    is_better,
    metric_tags,
    rollback_target,
    selection_value,
    stored_metric,
    stored_metrics,
)


@dataclass(frozen=True)
class Version:
    """What MLflow's ModelVersion offers the decisions, and nothing else."""

    version: str
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None


def scored(version: str, value: float | str | None, run_id: str | None = None) -> Version:
    """A version storing ``value`` as its rougeL_f (None: storing no metric at all)."""
    return Version(version, {} if value is None else {"metric.rougeL_f": str(value)}, run_id)


# ------------------------------------------------------------------------------ stored metrics
def test_metric_tags_store_numeric_point_estimates_only() -> None:
    tags = metric_tags(
        {
            "rougeL_f": 20.5,
            "rougeL_f_low": 19.0,
            "rougeL_f_high": 22.0,
            "n_examples": 50,
            "baseline": "lead_words",
            "rouge1_f": 30,
        }
    )
    assert tags == {"metric.rougeL_f": "20.5", "metric.n_examples": "50", "metric.rouge1_f": "30"}


def test_stored_metrics_skip_tags_that_are_not_numbers() -> None:
    version = Version("1", {"metric.rougeL_f": "20.5", "metric.rouge1_f": "n/a", "other": "1"})
    assert stored_metrics(version.tags) == {"rougeL_f": 20.5}
    assert stored_metric(version, "rougeL_f") == 20.5
    assert stored_metric(version, "rouge1_f") is None
    assert stored_metric(version, "rouge2_f") is None


def test_better_is_strict_in_both_directions() -> None:
    assert is_better(2.0, 1.0, greater_is_better=True)
    assert not is_better(1.0, 1.0, greater_is_better=True)
    assert is_better(1.0, 2.0, greater_is_better=False)
    assert not is_better(1.0, 1.0, greater_is_better=False)


def test_selection_value_names_the_metrics_there_are() -> None:
    assert selection_value({"rougeL_f": 17}, "rougeL_f") == 17.0
    with pytest.raises(
        RegistryError, match=r"register.metric 'bleu' is not among the test metrics \(rougeL_f\)"
    ):
        selection_value({"rougeL_f": 17, "rougeL_f_low": 16}, "bleu")


# ------------------------------------------------------------------------------- best version
def test_best_version_ranks_stored_metrics_and_lists_versions_without_one() -> None:
    versions = [scored("1", 20), scored("2", None), scored("3", 24), scored("4", "n/a")]
    best = best_version(versions, "rougeL_f", greater_is_better=True)
    assert (best.version.version, best.value, best.incomparable) == ("3", 24.0, ["2", "4"])
    lowest = best_version(versions, "rougeL_f", greater_is_better=False)
    assert (lowest.version.version, lowest.value) == ("1", 20.0)


def test_best_version_keeps_the_earliest_of_equal_values() -> None:
    best = best_version([scored("1", 20), scored("2", 20)], "rougeL_f", greater_is_better=True)
    assert best.version.version == "1"


def test_best_version_of_no_comparable_version_is_none() -> None:
    best = best_version([scored("1", None)], "rougeL_f", greater_is_better=True)
    assert (best.version, best.value, best.incomparable) == (None, None, ["1"])


# ------------------------------------------------------------------------------- registration
def test_first_version_is_always_registered() -> None:
    decision = decide_registration(12.5, "rougeL_f", True, [], "run-a")
    assert decision.register and decision.best_before is None
    assert decision.previous == "first version"
    assert decision.reason == "rougeL_f 12.5000 beats every earlier version (first version)"
    assert (decision.metric, decision.value) == ("rougeL_f", 12.5)


def test_a_better_run_is_registered() -> None:
    versions = [scored("1", 20), scored("2", 22)]
    decision = decide_registration(23.0, "rougeL_f", True, versions, "run-a")
    assert decision.register
    assert decision.best_before == {"version": "2", "value": 22.0}
    assert decision.reason == (
        "rougeL_f 23.0000 beats every earlier version (previous best: version 2 (22.0000))"
    )


@pytest.mark.parametrize("value", [18.5, 22.0])  # worse, and equal: a tie is no improvement
def test_a_run_that_does_not_beat_the_best_is_not_registered(value: float) -> None:
    versions = [scored("1", 20), scored("2", 22)]
    decision = decide_registration(value, "rougeL_f", True, versions, "run-a")
    assert not decision.register
    assert decision.best_before == {"version": "2", "value": 22.0}
    assert decision.reason == f"rougeL_f {value:.4f} does not beat version 2 (22.0000)"


def test_the_reason_says_when_the_run_is_already_registered() -> None:
    versions = [scored("1", 20, run_id="run-a"), scored("2", 20, run_id="run-a")]
    decision = decide_registration(20.0, "rougeL_f", True, versions, "run-a")
    assert not decision.register
    assert decision.reason.endswith("; this run is already version 1, 2")


def test_lower_is_better_when_greater_is_better_is_false() -> None:
    versions = [scored("1", 3.0), scored("2", 2.5)]
    assert decide_registration(2.4, "rougeL_f", False, versions, "r").register
    worse = decide_registration(2.6, "rougeL_f", False, versions, "r")
    assert not worse.register and worse.best_before == {"version": "2", "value": 2.5}


def test_versions_without_the_metric_are_left_out_of_the_comparison() -> None:
    only_incomparable = decide_registration(1.0, "rougeL_f", True, [scored("1", None)], "r")
    assert only_incomparable.register and only_incomparable.best.incomparable == ["1"]
    assert only_incomparable.previous == "first version"
    mixed = decide_registration(21.0, "rougeL_f", True, [scored("1", None), scored("2", 20)], "r")
    assert mixed.register and mixed.best.incomparable == ["1"]
    assert mixed.best_before == {"version": "2", "value": 20.0}


# ---------------------------------------------------------------------------------- promotion
def test_any_version_passes_when_there_is_no_champion() -> None:
    guard = guard_promotion(scored("1", None), None)
    assert guard.passed and guard.check == "ok (no current champion)"


def test_a_version_not_worse_than_the_champion_passes() -> None:
    for value in (22, 20):  # better, and equal
        guard = guard_promotion(scored("2", value), scored("1", 20))
        assert guard.passed
        assert guard.check == f"ok: rougeL_f {value:.4f} vs champion version 1 20.0000"


def test_a_worse_version_is_refused_unless_forced() -> None:
    refused = guard_promotion(scored("1", 20), scored("2", 22))
    assert not refused.passed
    assert refused.check == (
        "worse than the champion (rougeL_f 20.0000 vs champion version 2 22.0000); "
        "use --force to promote it anyway"
    )
    forced = guard_promotion(scored("1", 20), scored("2", 22), force=True)
    assert forced.passed
    assert forced.check == "overridden by --force: rougeL_f 20.0000 vs champion version 2 22.0000"


def test_promotion_guard_follows_greater_is_better() -> None:
    assert guard_promotion(scored("1", 2.0), scored("2", 3.0), greater_is_better=False).passed
    assert not guard_promotion(scored("1", 3.0), scored("2", 2.0), greater_is_better=False).passed


def test_a_target_without_the_metric_counts_as_worse() -> None:
    refused = guard_promotion(scored("3", None), scored("2", 22))
    assert not refused.passed
    assert "(cannot compare: rougeL_f missing on version 3)" in refused.check
    forced = guard_promotion(scored("3", None), scored("2", 22), force=True)
    assert forced.check == "overridden by --force: cannot compare: rougeL_f missing on version 3"


def test_a_champion_without_the_metric_does_not_block() -> None:
    guard = guard_promotion(scored("3", 10), scored("2", None))
    assert guard.passed and guard.check == "ok: cannot compare: rougeL_f missing on version 2"


def test_the_metric_is_the_given_one_else_the_one_the_version_was_selected_by() -> None:
    target = Version(
        "2", {"metric.rougeL_f": "10", "metric.rouge1_f": "40", "selection_metric": "rouge1_f"}
    )
    champion = Version("1", {"metric.rougeL_f": "20", "metric.rouge1_f": "30"})
    assert guard_promotion(target, champion).check.startswith("ok: rouge1_f 40.0000")
    assert not guard_promotion(target, champion, metric="rougeL_f").passed


# ----------------------------------------------------------------------------------- rollback
def test_rollback_goes_to_the_champion_it_replaced() -> None:
    assert rollback_target("m", Version("3", {"previous_champion": "1"})) == "1"


def test_rollback_without_a_champion_or_a_previous_one_is_an_error() -> None:
    with pytest.raises(RegistryError, match="model 'm' has no @champion; nothing to roll back"):
        rollback_target("m", None)
    for tags in ({}, {"previous_champion": ""}):  # first promotion records an empty previous
        with pytest.raises(
            RegistryError, match=r"@champion \(version 3 of 'm'\) replaced no earlier champion"
        ):
            rollback_target("m", Version("3", tags))
