"""The registration gate and the smoke check against a real SQLite-backed MLflow registry: a
model worse than the baseline, one that writes the same summary for most inputs, and one that
writes "on on" for everything is never registered, and never promoted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from summarizer import registry
from summarizer.config.registry import RegisterParams
from summarizer.evaluation.report import EvaluationReport
from summarizer.registry.logged_model import files_digest
from summarizer.registry.stored_model import DIGEST_TAG
from tests.service.conftest import DECODE, MODEL_NAME, Store

pytestmark = pytest.mark.slow

DEFAULT_CHECKS = {
    "distinct_prediction_share": 0.985,
    "repeated_trigram_rate": 0.00013,
    "empty_prediction_share": 0.0,
    "mean_prediction_length": 5.9,
    "n_examples": 1951,
}


# The register section of the test model (the defaults otherwise).
SETTINGS = RegisterParams(model_name=MODEL_NAME)


def evaluation(baseline: float = 19.95, **checks: float) -> EvaluationReport:
    """reports/evaluation.json beside "test": the lead-8 baseline and the degeneracy checks."""
    return EvaluationReport.from_dict(
        {
            "baseline_lead_words_8": {"rougeL_f": baseline, "rouge1_f": 21.3, "n_examples": 1951},
            "checks": {**DEFAULT_CHECKS, **checks},
        }
    )


def register(
    store: Store,
    model_dir: Path,
    value: float,
    report: Path | None = None,
    settings: RegisterParams = SETTINGS,
    **evaluated: Any,
) -> registry.RegisterOutcome:
    run_id = store.new_run(tags={"git_commit": "abc"})
    return registry.log_and_register(
        uri=store.uri,
        run_id=run_id,
        settings=settings,
        model_dir=model_dir,
        test_metrics={"rougeL_f": value, "rouge1_f": value + 1, "n_examples": 1951},
        decode=DECODE,
        report=report,
        evaluation=evaluation(**evaluated),
    )


def versions(store: Store) -> list[str]:
    found = store.client().search_model_versions(f"name = '{MODEL_NAME}'")
    return sorted(str(v.version) for v in found)


def test_a_run_that_does_not_beat_the_baseline_is_not_even_a_first_version(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    report = tmp_path / "register.json"
    outcome = register(store, model_dir, 0.0, report=report, baseline=22.58)
    assert not outcome.registered and outcome.best_before is None  # nothing registered before
    assert outcome.reason == (
        "failed the registration gate: rougeL_f 0.0000 does not beat the baseline "
        "lead_words_8 (22.5800)"
    )
    assert versions(store) == [] and outcome.challenger is None
    recorded = json.loads(report.read_text())
    assert recorded["gate"]["passed"] is False
    assert recorded["gate"]["checks"]["baseline_lead_words_8"] == {
        "value": 0.0,
        "threshold": 22.58,
        "passed": False,
    }
    assert recorded["gate"]["checks"]["distinct_prediction_share"]["passed"] is True
    assert recorded["gate"]["checks"]["smoke"]["passed"] is True
    tags = store.client().get_run(outcome.run_id).data.tags
    assert tags["register.decision"] == "not registered"
    assert tags["register.gate"] == "failed"
    assert tags["register.gate_reasons"] == (
        "rougeL_f 0.0000 does not beat the baseline lead_words_8 (22.5800)"
    )


def test_a_run_whose_outputs_are_mostly_identical_is_not_registered(
    store: Store, model_dir: Path
) -> None:
    # ROUGE-L above the baseline, but 87% of the test predictions are the same string.
    collapsed = register(store, model_dir, 23.0, distinct_prediction_share=0.13)
    assert not collapsed.registered and versions(store) == []
    assert collapsed.reason == (
        "failed the registration gate: distinct_prediction_share 0.1300 is below the minimum "
        "0.8 (register.min_distinct_share)"
    )
    # Every failing check is listed, with the setting that decides it.
    loops = register(store, model_dir, 23.0, repeated_trigram_rate=0.4, empty_prediction_share=0.05)
    assert loops.gate["reasons"] == [
        "empty_prediction_share 0.0500 is above the maximum 0.01 (register.max_empty_share)",
        "repeated_trigram_rate 0.4000 is above the maximum 0.1 "
        "(register.max_repeated_trigram_rate)",
    ]
    # The thresholds are params: with a lower minimum, the same run is registered.
    lenient = RegisterParams(model_name=MODEL_NAME, min_distinct_share=0.1)
    allowed = register(store, model_dir, 23.0, settings=lenient, distinct_prediction_share=0.13)
    assert allowed.registered and allowed.version == "1"
    tags = store.client().get_model_version(MODEL_NAME, "1").tags
    assert tags["baseline.lead_words_8"] == "19.95"
    assert tags["check.distinct_prediction_share"] == "0.13"


def test_a_report_without_baseline_or_checks_fails_the_gate(store: Store, model_dir: Path) -> None:
    run_id = store.new_run()
    outcome = registry.log_and_register(
        uri=store.uri,
        run_id=run_id,
        settings=SETTINGS,
        model_dir=model_dir,
        test_metrics={"rougeL_f": 23.0},
        decode=DECODE,
        evaluation=EvaluationReport.from_dict({"test": {"rougeL_f": 23.0}}),
    )
    assert not outcome.registered
    assert outcome.gate["reasons"][0] == (
        "the evaluation report has no baseline ('baseline_*') scored on rougeL_f; "
        "run the evaluate stage"
    )
    assert "has no checks.distinct_prediction_share" in outcome.gate["reasons"][1]


# ------------------------------------------------------------------------- a collapsed model
@pytest.fixture(scope="module")
def on_on_model(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with its output layer replaced by a constant: "on" first, end of summary
    second. Under the test decoding (at least two words, no repeated bigram) it writes "on on"
    for every document."""
    import torch

    target = tmp_path_factory.mktemp("collapsed") / "summarizer"
    shutil.copytree(model_dir, target)
    config = json.loads((target / "config.json").read_text())
    tokens = json.loads((target / "vocab" / "target.json").read_text())["tokens"]
    weights = torch.load(target / "model.pt", weights_only=True)
    weights["decoder.output.weight"].zero_()
    bias = torch.zeros_like(weights["decoder.output.bias"])
    bias[tokens.index("on")] = 10.0
    bias[config["eos_id"]] = 5.0
    weights["decoder.output.bias"] = bias
    torch.save(weights, target / "model.pt")
    return target


def test_a_model_that_writes_the_same_words_for_everything_is_refused(
    store: Store, model_dir: Path, on_on_model: Path
) -> None:
    # Even with scores that pass the gate, its smoke summaries give it away.
    outcome = register(store, on_on_model, 23.0)
    assert not outcome.registered and versions(store) == []
    smoke = outcome.gate["checks"]["smoke"]
    assert smoke["passed"] is False
    reason = outcome.gate["reasons"][0]
    assert reason.startswith("smoke prediction: summary made of one word repeated: 'on on'; ")
    assert "1 distinct summaries for 6 unrelated documents" in reason
    assert "1 different words over the summaries of 6 unrelated documents (on)" in reason

    # Registered by hand (say from the UI) next to a working champion, with every tag a
    # registration that passed the gate writes: promote refuses it, even with --force, which
    # overrides the metric guard only.
    assert register(store, model_dir, 20.0).registered
    registry.promote(store.uri, MODEL_NAME)
    run_id = store.new_run()
    logged = registry.ensure_logged(store.uri, run_id, on_on_model, DECODE)
    registered = store.client().get_model_version(MODEL_NAME, "1").tags
    store.client().create_model_version(
        MODEL_NAME,
        logged.model_uri,
        run_id=run_id,
        tags={
            **{k: v for k, v in registered.items() if k.startswith(("baseline.", "check."))},
            "metric.rougeL_f": "99.0",
            DIGEST_TAG: files_digest(on_on_model, DECODE),
        },
        model_id=logged.model_id,
    )
    with pytest.raises(
        registry.PromotionRefused,
        match=r"version 2 of 'summarizer-test' fails the smoke check: summary made of one "
        r"word repeated: 'on on'",
    ):
        registry.promote(store.uri, MODEL_NAME, 2, force=True, reason="looks fine to me")
    aliases = store.client().get_registered_model(MODEL_NAME).aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": "1", "challenger": "1"}


def test_a_model_that_loops_over_a_few_words_is_not_registered(
    store: Store, model_dir: Path
) -> None:
    """Issue 21: the smoke check let through summaries that are mostly repeats of a few words
    (it caught only one word repeated). The tiny model decoded without any repeat blocking loops
    ("britain agreed agreed agreed agreed"); with it (the test decoding) it does not."""
    run_id = store.new_run(tags={"git_commit": "abc"})
    outcome = registry.log_and_register(
        uri=store.uri,
        run_id=run_id,
        settings=SETTINGS,
        model_dir=model_dir,
        test_metrics={"rougeL_f": 23.0, "rouge1_f": 24.0, "n_examples": 1951},
        decode=DECODE.model_copy(
            update={"no_repeat_ngram_size": 0, "no_repeat_content_words": False}
        ),
        evaluation=evaluation(),
    )
    assert not outcome.registered and versions(store) == []
    assert outcome.gate["checks"]["smoke"]["passed"] is False
    (reason,) = outcome.gate["reasons"]
    assert reason.startswith("smoke prediction: summary of document(s) 0")
    assert "mostly repeating its own words" in reason and "(at most 50% may be)" in reason
