"""The headline metrics: the same dozen names in DVC's metrics.json and the MLflow run; and the
evaluation report (reports/evaluation.json) they are read from, as one schema."""

from __future__ import annotations

import json

import pytest

from summarizer.content_words import ContentWords
from summarizer.errors import DataError
from summarizer.evaluation.checks import degeneracy_metrics
from summarizer.evaluation.report import (
    Decoding,
    DegeneracyChecks,
    EvaluationReport,
    ExtraTestSetScores,
    ScoredTestSet,
)
from summarizer.evaluation.scoring import ScoringOptions, score_corpus
from summarizer.stages.headline import headline_metrics

PREDICTIONS = ["police arrest man in paris", "stocks fall in tokyo", "rain expected"]
REFERENCES = [["man arrested in paris"], ["tokyo stocks close lower"], ["rain tomorrow"]]


def evaluation(test_set: dict | None = None) -> dict:
    """The content of an evaluation report as the evaluate stage writes it, scored for real."""
    options = ScoringOptions(bootstrap_samples=20)
    scores = score_corpus(PREDICTIONS, REFERENCES, options)
    lead = score_corpus(["police", "stocks", "rain"], REFERENCES, options)
    return {
        "test_set": test_set or {"examples": 3, "modified_rows": 0},
        "test": scores.to_metrics(),
        "baseline_lead_words_8": lead.to_metrics(),
        "checks": degeneracy_metrics(PREDICTIONS, REFERENCES, ContentWords("en")),
        "decoding": {"examples_per_second": 12.5},
        "duc2004": {"model": scores.to_metrics(), "baseline": lead.to_metrics()},
    }


def test_headline_holds_f1_of_each_rouge_type_the_published_intervals_and_no_extra_set() -> None:
    report = evaluation()
    training = {
        "best_val_nll": 3.9012,
        "tokens_per_second": 1881.0,
        "train_seconds": 612.5,
        "epochs": 6,
    }
    headline = headline_metrics(EvaluationReport.from_dict(report), "lead_words_8", training)
    assert headline == {
        "test_rouge1": report["test"]["rouge1_f"],
        "test_rouge2": report["test"]["rouge2_f"],
        "test_rougeL": report["test"]["rougeL_f"],
        "test_rougeLsum": report["test"]["rougeLsum_f"],
        **{
            f"test_{t}_{bound}": report["test"][f"{t}_f_{bound}"]
            for t in ("rouge1", "rouge2", "rougeL")
            for bound in ("low", "high")
        },
        "baseline_rouge1": report["baseline_lead_words_8"]["rouge1_f"],
        "baseline_rougeL": report["baseline_lead_words_8"]["rougeL_f"],
        "distinct_share": 1.0,
        "empty_share": 0.0,
        "repeated_trigram_rate": 0.0,
        "repeated_word_share": 0.0,
        "reference_repeated_word_share": 0.0,
        "best_val_nll": 3.9012,
        "train_tokens_per_second": 1881.0,
        "train_seconds": 612.5,
        "decode_examples_per_second": 12.5,
        "test_examples": 3,
    }
    assert headline["test_rouge1"] > headline["baseline_rouge1"] > 0
    # reports/metrics.json is this dict as JSON: its keys keep this order, run after run.
    assert list(headline) == [
        "test_rouge1",
        "test_rouge2",
        "test_rougeL",
        "test_rougeLsum",
        "test_rouge1_low",
        "test_rouge1_high",
        "test_rouge2_low",
        "test_rouge2_high",
        "test_rougeL_low",
        "test_rougeL_high",
        "baseline_rouge1",
        "baseline_rougeL",
        "distinct_share",
        "empty_share",
        "repeated_trigram_rate",
        "repeated_word_share",
        "reference_repeated_word_share",
        "best_val_nll",
        "train_tokens_per_second",
        "train_seconds",
        "decode_examples_per_second",
        "test_examples",
    ]


def test_a_modified_test_set_gets_its_own_column_and_missing_training_is_left_out() -> None:
    report = evaluation({"examples": 3, "modified_rows": 2, "note": "test set modified"})
    headline = headline_metrics(EvaluationReport.from_dict(report), "lead_words_8", None)
    assert headline["test_set_modified_rows"] == 2
    assert "best_val_nll" not in headline and "train_tokens_per_second" not in headline


def test_only_configured_rouge_types_are_headline_columns() -> None:
    options = ScoringOptions(rouge_types=["rouge1", "rougeL"], bootstrap_samples=0)
    report = evaluation()
    report["test"] = score_corpus(PREDICTIONS, REFERENCES, options).to_metrics()
    headline = headline_metrics(EvaluationReport.from_dict(report), "lead_words_8", None)
    # bootstrap_samples 0: no interval, so no interval columns either.
    assert {k for k in headline if k.startswith("test_rouge")} == {"test_rouge1", "test_rougeL"}


# ------------------------------------------------------------------------- the evaluation report
def written_by_evaluate() -> dict:
    """reports/evaluation.json with every entry the evaluate stage writes, in its order."""
    report = evaluation(
        {
            "name": "gigaword",
            "examples": 3,
            "documented_examples": 1951,
            "modified_rows": None,
            "note": None,
        }
    )
    report["decoding"] = {
        "examples": 3,
        "seconds": 0.24,
        "examples_per_second": 12.5,
        "beam_size": 4,
    }
    extra = report.pop("duc2004")
    report["duc2004"] = {"measure": "r", "truncate_bytes": 75, **extra}
    report["run_id"] = "0123abcd"
    return report


def test_the_report_reads_back_exactly_as_it_was_written() -> None:
    layout = written_by_evaluate()
    report = EvaluationReport.from_dict(layout)
    assert report.baseline("lead_words_8") == layout["baseline_lead_words_8"]
    assert report.extra_test_sets["duc2004"].measure == "r"
    assert (report.run_id, report.test_set.documented_examples) == ("0123abcd", 1951)
    # Same keys, same order, same values and types (n_examples stays an integer).
    assert json.dumps(report.to_dict(), indent=2) == json.dumps(layout, indent=2)


def test_the_report_built_by_the_evaluate_stage_has_the_layout_it_always_had() -> None:
    layout = written_by_evaluate()
    report = EvaluationReport(
        test_set=ScoredTestSet.model_validate(layout["test_set"]),
        test=layout["test"],
        baselines={
            EvaluationReport.baseline_name("lead_words", 8): layout["baseline_lead_words_8"]
        },
        checks=DegeneracyChecks.model_validate(
            degeneracy_metrics(PREDICTIONS, REFERENCES, ContentWords("en"))
        ),
        decoding=Decoding(examples=3, seconds=0.24, examples_per_second=12.5, beam_size=4),
    )
    report.extra_test_sets["duc2004"] = ExtraTestSetScores(**layout["duc2004"])
    report.run_id = "0123abcd"
    assert json.dumps(report.to_dict(), indent=2) == json.dumps(layout, indent=2)


def test_an_older_report_still_reads() -> None:
    """Before issue 14 the report had no test_set entry, and before issue 22 no run_id."""
    layout = written_by_evaluate()
    del layout["test_set"], layout["run_id"]
    report = EvaluationReport.from_dict(layout)
    assert report.test_set is None and report.run_id is None
    assert report.to_dict() == layout
    headline = headline_metrics(report, "lead_words_8", None)
    assert "test_set_modified_rows" not in headline and headline["test_examples"] == 3


def test_a_report_that_does_not_fit_names_the_entry() -> None:
    with pytest.raises(DataError, match=r"^evaluation\.json: baseline_lead_words_8\.rougeL_f: "):
        EvaluationReport.from_dict(
            {"baseline_lead_words_8": {"rougeL_f": "high"}}, "evaluation.json"
        )
    with pytest.raises(DataError, match=r"^evaluation\.json: expected a JSON object, got list"):
        EvaluationReport.from_dict([], "evaluation.json")
    with pytest.raises(DataError, match=r"has no baseline_lead_words_8 \(baselines: none\)"):
        EvaluationReport.from_dict({"test": {}}).baseline("lead_words_8")
