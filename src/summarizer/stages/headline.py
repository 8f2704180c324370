"""The headline metrics: the score columns that decide between two runs.

They are the DVC metrics (``reports/metrics.json``, what ``dvc metrics show``, ``dvc metrics
diff`` and ``dvc exp show`` print) and the metrics of the MLflow run, under the same names, so a
column in one view is a column in the other. Everything else the evaluate stage measures
(precision, recall, the other intervals, extra test sets, lengths) is in
``reports/evaluation.json`` (:class:`~summarizer.evaluation.report.EvaluationReport`) and in the
run's artifacts, where it does not crowd the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from summarizer.config.choices import CORPUS_METRICS
from summarizer.errors import DataError
from summarizer.evaluation.report import EvaluationReport, f1_by_rouge_type
from summarizer.stages.train_metrics import TRAINING

# The published tables' three (Rush et al., See et al.): their 95% interval is worth a column,
# so that `dvc exp show` tells a real difference between experiments from a lucky one.
INTERVAL_TYPES = ("rouge1", "rouge2", "rougeL")

# Baseline scores worth a column: enough to see whether the model beats it on content
# (ROUGE-1) and on order (ROUGE-L); the rest are in evaluation.json.
BASELINE_TYPES = ("rouge1", "rougeL")

# evaluation.json "checks" -> headline name: the signs of a collapsed model ROUGE can hide.
CHECKS = {
    "distinct_prediction_share": "distinct_share",
    "empty_prediction_share": "empty_share",
    "repeated_trigram_rate": "repeated_trigram_rate",
    "repeated_word_share": "repeated_word_share",
    "reference_repeated_word_share": "reference_repeated_word_share",
}


def headline_metrics(
    evaluation: EvaluationReport,
    baseline: str,
    training: Mapping[str, Any] | None,
) -> dict[str, float]:
    """The headline numbers of an evaluation and of the training that produced the model
    (``reports/train_metrics.json``, None if missing); ``baseline``: the name of the baseline
    worth columns (``lead_words_8``).

    Test ROUGE is F1 per configured ROUGE type (``test_rouge1`` ...), with the bounds of its
    interval for :data:`INTERVAL_TYPES` (``test_rouge1_low``, ``test_rouge1_high``); the
    baseline's is
    ``baseline_rouge1``/``baseline_rougeL``; speeds are target tokens per second in training and
    test examples per second in decoding; ``test_examples`` says what the scores were computed on
    (and ``test_set_modified_rows`` how many rows ``ingest.filter_test`` changed, when it did).
    """
    test = evaluation.required_test()
    if evaluation.checks is None or evaluation.decoding is None:
        raise DataError("the evaluation report has no checks or decoding; run the evaluate stage")
    metrics: dict[str, Any] = {f"test_{t}": f1 for t, f1 in f1_by_rouge_type(test).items()}
    for t in INTERVAL_TYPES:
        for bound in ("low", "high"):
            if f"{t}_f_{bound}" in test:
                metrics[f"test_{t}_{bound}"] = test[f"{t}_f_{bound}"]
    # BLEU and chrF where they were scored (translation), each with its interval.
    for name in CORPUS_METRICS:
        for key in (name, f"{name}_low", f"{name}_high"):
            if key in test:
                metrics[f"test_{key}"] = test[key]
    baseline_scores = evaluation.baseline(baseline)
    metrics.update(
        {
            f"baseline_{t}": baseline_scores[f"{t}_f"]
            for t in BASELINE_TYPES
            if f"{t}_f" in baseline_scores
        }
    )
    metrics.update(
        {
            f"baseline_{name}": baseline_scores[name]
            for name in CORPUS_METRICS
            if name in baseline_scores
        }
    )
    checks = evaluation.checks.model_dump()
    metrics.update(
        {name: round(checks[key], 4) for key, name in CHECKS.items() if checks[key] is not None}
    )
    for key, name in TRAINING.items():
        if training is not None and isinstance(training.get(key), (int, float)):
            metrics[name] = training[key]
    metrics["decode_examples_per_second"] = evaluation.decoding.examples_per_second
    metrics["test_examples"] = test["n_examples"]
    # Only a modified standard test set gets this column: scores on it are not the published kind.
    modified = evaluation.modified_test_rows()
    if modified:
        metrics["test_set_modified_rows"] = modified
    return metrics
