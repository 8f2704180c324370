"""The headline metrics: the same dozen names in DVC's metrics.json and the MLflow run."""

from __future__ import annotations

from summarizer.evaluation import ScoringOptions, degeneracy_metrics, score_corpus
from summarizer.headline import headline_metrics

PREDICTIONS = ["police arrest man in paris", "stocks fall in tokyo", "rain expected"]
REFERENCES = [["man arrested in paris"], ["tokyo stocks close lower"], ["rain tomorrow"]]


def evaluation(test_set: dict | None = None) -> dict:
    """An evaluation report as the evaluate stage writes it, scored for real."""
    options = ScoringOptions(bootstrap_samples=20)
    scores = score_corpus(PREDICTIONS, REFERENCES, options)
    lead = score_corpus(["police", "stocks", "rain"], REFERENCES, options)
    return {
        "test_set": test_set or {"examples": 3, "modified_rows": 0},
        "test": scores.to_metrics(),
        "baseline_lead_words_8": lead.to_metrics(),
        "checks": degeneracy_metrics(PREDICTIONS, REFERENCES),
        "decoding": {"examples_per_second": 12.5},
        "duc2004": {"model": scores.to_metrics(), "baseline": lead.to_metrics()},
    }


def test_headline_holds_f1_of_each_rouge_type_and_no_interval_or_extra_set() -> None:
    report = evaluation()
    training = {"best_val_nll": 3.9012, "tokens_per_second": 1881.0, "epochs": 6}
    headline = headline_metrics(report, "baseline_lead_words_8", training)
    assert headline == {
        "test_rouge1": report["test"]["rouge1_f"],
        "test_rouge2": report["test"]["rouge2_f"],
        "test_rougeL": report["test"]["rougeL_f"],
        "test_rougeLsum": report["test"]["rougeLsum_f"],
        "baseline_rouge1": report["baseline_lead_words_8"]["rouge1_f"],
        "baseline_rougeL": report["baseline_lead_words_8"]["rougeL_f"],
        "distinct_share": 1.0,
        "empty_share": 0.0,
        "repeated_trigram_rate": 0.0,
        "best_val_nll": 3.9012,
        "train_tokens_per_second": 1881.0,
        "decode_examples_per_second": 12.5,
        "test_examples": 3,
    }
    assert headline["test_rouge1"] > headline["baseline_rouge1"] > 0


def test_a_modified_test_set_gets_its_own_column_and_missing_training_is_left_out() -> None:
    report = evaluation({"examples": 3, "modified_rows": 2, "note": "test set modified"})
    headline = headline_metrics(report, "baseline_lead_words_8", None)
    assert headline["test_set_modified_rows"] == 2
    assert "best_val_nll" not in headline and "train_tokens_per_second" not in headline


def test_only_configured_rouge_types_are_headline_columns() -> None:
    options = ScoringOptions(rouge_types=["rouge1", "rougeL"], bootstrap_samples=0)
    report = evaluation()
    report["test"] = score_corpus(PREDICTIONS, REFERENCES, options).to_metrics()
    headline = headline_metrics(report, "baseline_lead_words_8", None)
    assert {k for k in headline if k.startswith("test_rouge")} == {"test_rouge1", "test_rougeL"}
