"""The headline metrics: the dozen numbers that decide between two runs.

They are the DVC metrics (``reports/metrics.json``, what ``dvc metrics show``, ``dvc metrics
diff`` and ``dvc exp show`` print) and the metrics of the MLflow run, under the same names, so a
column in one view is a column in the other. Everything else the evaluate stage measures
(precision, recall, confidence intervals, extra test sets, lengths) is in
``reports/evaluation.json`` and in the run's artifacts, where it does not crowd the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Baseline scores worth a column: enough to see whether the model beats it on content
# (ROUGE-1) and on order (ROUGE-L); the rest are in evaluation.json.
BASELINE_TYPES = ("rouge1", "rougeL")

# evaluation.json "checks" -> headline name: the signs of a collapsed model ROUGE can hide.
CHECKS = {
    "distinct_prediction_share": "distinct_share",
    "empty_prediction_share": "empty_share",
    "repeated_trigram_rate": "repeated_trigram_rate",
}

# reports/train_metrics.json -> headline name. The cross-entropy alone, at the exported epoch:
# the validation loss with the coverage term would not compare with a model without coverage.
TRAINING = {
    "best_val_nll": "best_val_nll",
    "tokens_per_second": "train_tokens_per_second",
}


def headline_metrics(
    evaluation: Mapping[str, Any],
    baseline_key: str,
    training: Mapping[str, Any] | None,
) -> dict[str, float]:
    """The headline numbers of an evaluation (the content of ``reports/evaluation.json``) and
    the training that produced the model (``reports/train_metrics.json``, None if missing).

    Test ROUGE is F1 per configured ROUGE type (``test_rouge1`` ...), the baseline's is
    ``baseline_rouge1``/``baseline_rougeL``; speeds are target tokens per second in training and
    test examples per second in decoding; ``test_examples`` says what the scores were computed on
    (and ``test_set_modified_rows`` how many rows ``ingest.filter_test`` changed, when it did).
    """
    test = evaluation["test"]
    rouge_types = [key.removesuffix("_f") for key in test if key.endswith("_f")]
    metrics: dict[str, float] = {f"test_{t}": test[f"{t}_f"] for t in rouge_types}
    baseline = evaluation[baseline_key]
    metrics.update(
        {f"baseline_{t}": baseline[f"{t}_f"] for t in BASELINE_TYPES if f"{t}_f" in baseline}
    )
    checks = evaluation["checks"]
    metrics.update({name: round(checks[key], 4) for key, name in CHECKS.items()})
    for key, name in TRAINING.items():
        if training is not None and isinstance(training.get(key), (int, float)):
            metrics[name] = training[key]
    metrics["decode_examples_per_second"] = evaluation["decoding"]["examples_per_second"]
    metrics["test_examples"] = test["n_examples"]
    # Only a modified standard test set gets this column: scores on it are not the published kind.
    modified = evaluation.get("test_set", {}).get("modified_rows")
    if modified:
        metrics["test_set_modified_rows"] = modified
    return metrics
