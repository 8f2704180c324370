"""The training numbers that are also headline metrics, and their headline names.

``reports/train_metrics.json`` key -> headline name: the ``train`` stage logs them under these
names when training ends, and ``evaluate`` logs them again beside test ROUGE
(:mod:`summarizer.stages.headline`). The cross-entropy alone, at the exported epoch: the
validation loss with the coverage term would not compare with a model without coverage.
"""

TRAINING = {
    "best_val_nll": "best_val_nll",
    "tokens_per_second": "train_tokens_per_second",
    "train_seconds": "train_seconds",  # wall time of the fit (of its last part, if resumed)
}
