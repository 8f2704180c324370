"""Stage ``evaluate``: decode the test split, score it with ROUGE beside a baseline, write reports.

All scores (model, baseline, extra test sets) come from :mod:`summarizer.evaluation.scoring` with
the same options, in the same run, so they can be compared with each other and with
``summarizer score``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from summarizer.config import EvaluateParams, ExtraTestSet, Params, Paths
from summarizer.evaluation.baselines import baseline
from summarizer.evaluation.checks import degeneracy_metrics
from summarizer.evaluation.inputs import (
    load_extra_test_set,
    load_split,
    size_entry,
    size_warning,
    split_like_references,
)
from summarizer.evaluation.reports import draw_attention, write_predictions, write_rouge_by_length
from summarizer.evaluation.scoring import CorpusScores, ScoringOptions, score_corpus
from summarizer.inference import Summarizer
from summarizer.io import write_json

log = logging.getLogger(__name__)


def evaluate_extra(
    name: str, spec: ExtraTestSet, summarizer: Summarizer, params: EvaluateParams
) -> dict[str, Any]:
    """Model and baseline scores on an extra test set, under that set's own convention (DUC:
    recall of predictions cut to 75 bytes)."""
    table = load_extra_test_set(name, spec)
    references = table["references"].tolist()
    _warn_if_not_standard(name, len(table))
    summaries = summarizer.summarize(table["document"].tolist())
    options = ScoringOptions.from_params(
        params.scoring, truncate_bytes=spec.truncate_bytes, measure=spec.measure
    )
    predictions = split_like_references([s.text for s in summaries], references)
    model = score_corpus(predictions, references, options)
    lead = score_corpus([baseline(d, params) for d in table["document"]], references, options)
    log.info(
        "%s ROUGE (%s) on %d examples: %s",
        name,
        spec.measure,
        model.n_examples,
        " / ".join(f"{k} {v:.2f}" for k, v in model.headline().items()),
    )
    return {
        "measure": spec.measure,
        "truncate_bytes": spec.truncate_bytes,
        "model": model.to_metrics(),
        "baseline": lead.to_metrics(),
    }


def _warn_if_not_standard(name: str, examples: int) -> None:
    warning = size_warning(name, examples)
    if warning is not None:
        log.warning(warning)


def run_metrics(
    metrics: dict[str, Any], baseline_scores: CorpusScores, extra_test_sets: list[str]
) -> dict[str, float]:
    """The flat MLflow metrics of ``metrics`` (the content of ``metrics.json``): ``test_*``,
    ``baseline_*``, ``check_*``, the decoding speed and ``{extra set}_*``; ``test_n_examples``
    and ``{extra set}_n_examples`` say what the scores were computed on."""
    flat = _prefixed("test", metrics["test"])
    flat.update(
        {f"baseline_{k}": v for k, v in baseline_scores.to_metrics().items() if k != "n_examples"}
    )
    flat.update(
        {f"check_{k}": v for k, v in metrics["checks"].items() if isinstance(v, (int, float))}
    )
    flat["decode_examples_per_second"] = metrics["decoding"]["examples_per_second"]
    if metrics["test_set"].get("modified_rows") is not None:
        flat["test_set_modified_rows"] = metrics["test_set"]["modified_rows"]
    for name in extra_test_sets:
        flat.update(_prefixed(name, metrics[name]["model"]))
    return flat


def _prefixed(prefix: str, scores: dict[str, Any]) -> dict[str, float]:
    return {f"{prefix}_{k}": v for k, v in scores.items()}


def run_evaluate(params: Params) -> dict[str, Any]:
    """Run the ``evaluate`` stage on the trained model in ``models/summarizer``.

    Writes ``reports/metrics.json`` (test ROUGE with confidence intervals, the baseline, the
    degeneracy checks, decoding speed, every extra test set), ``reports/predictions.jsonl``,
    ``reports/rouge_by_length.csv`` and the attention heatmaps, and logs the metrics and those
    files into the training run when ``models/mlflow_run.json`` names one. Returns the metrics.
    """
    from summarizer import tracking

    evaluate = params.evaluate
    run_info = json.loads(Paths.train_run.read_text()) if Paths.train_run.is_file() else None
    uri = tracking.tracking_uri(params.tracking.uri)
    if run_info is not None:
        tracking.ensure_reachable(uri)

    summarizer = Summarizer.from_dir(Paths.model_dir)
    summarizer.options = evaluate.decode
    table = load_split("test", evaluate.max_test_examples)
    documents = table["document"].tolist()
    references = table["references"].tolist()
    _warn_if_not_standard(params.dataset.name, len(table))

    started = time.perf_counter()
    sources = summarizer.loaded.processor.tokenize_source(documents)
    summaries = summarizer.summarize_tokens(sources, progress="decode test")
    decode_seconds = time.perf_counter() - started
    predictions = split_like_references([summary.text for summary in summaries], references)

    options = ScoringOptions.from_params(evaluate.scoring)
    log.info("scoring %d predictions", len(predictions))
    model_scores = score_corpus(predictions, references, options, progress=True)
    baseline_predictions = [baseline(document, evaluate) for document in documents]
    baseline_scores = score_corpus(baseline_predictions, references, options)

    metrics: dict[str, Any] = {
        "test_set": size_entry(params.dataset.name, len(predictions)),
        "test": model_scores.to_metrics(),
        f"baseline_{evaluate.baseline}_{evaluate.lead_n}": baseline_scores.to_metrics(),
        "checks": degeneracy_metrics(predictions, references),
        "decoding": {
            "examples": len(predictions),
            "seconds": round(decode_seconds, 2),
            "examples_per_second": round(len(predictions) / max(decode_seconds, 1e-9), 2),
            "beam_size": evaluate.decode.beam_size,
        },
    }
    for name, spec in evaluate.extra_test_sets.items():
        log.info("evaluating on extra test set '%s'", name)
        metrics[name] = evaluate_extra(name, spec, summarizer, evaluate)

    write_predictions(Paths.predictions, table, predictions, model_scores.per_example)
    write_rouge_by_length(
        Paths.rouge_by_length,
        [len(source) for source in sources],
        model_scores.per_example,
        evaluate.length_buckets,
    )
    count = min(evaluate.attention_examples, len(summaries))
    draw_attention(summaries[:count], table["id"].tolist()[:count], Paths.attention_dir)
    write_json(Paths.metrics, metrics)

    if run_info is not None:
        run = tracking.TrainingRun(uri, run_info["run_id"])
        run.log_metrics(run_metrics(metrics, baseline_scores, list(evaluate.extra_test_sets)))
        for path in (Paths.metrics, Paths.predictions, Paths.rouge_by_length):
            run.log_artifact(path, "evaluation")
        if Paths.attention_dir.is_dir():
            run.log_artifact(Paths.attention_dir, "evaluation/attention")
    log.info(
        "test ROUGE F1 on %d examples: %s (baseline %s)%s",
        model_scores.n_examples,
        " / ".join(f"{k} {v:.2f}" for k, v in model_scores.headline().items()),
        " / ".join(f"{v:.2f}" for v in baseline_scores.headline().values()),
        f"; {metrics['test_set']['note']}" if metrics["test_set"].get("note") else "",
    )
    return metrics
