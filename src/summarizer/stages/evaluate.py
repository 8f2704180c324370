"""Stage ``evaluate``: decode the test split, score it with ROUGE beside a baseline, write reports.

All scores (model, baseline, extra test sets) come from :mod:`summarizer.evaluation.scoring` with
the same options, in the same run, so they can be compared with each other and with
``summarizer score``.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack

from summarizer.config.evaluation import EvaluateParams, EvaluationStageParams, ExtraTestSet
from summarizer.config.paths import Paths
from summarizer.evaluation.baselines import baseline
from summarizer.evaluation.checks import degeneracy_metrics
from summarizer.evaluation.inputs import (
    load_extra_test_set,
    load_split,
    size_entry,
    size_warning,
    split_like_references,
)
from summarizer.evaluation.report import (
    Decoding,
    DegeneracyChecks,
    EvaluationReport,
    ExtraTestSetScores,
    ScoredTestSet,
)
from summarizer.evaluation.reports import draw_attention, write_predictions, write_rouge_by_length
from summarizer.evaluation.scoring import ScoringOptions, score_corpus
from summarizer.evaluation.tokenizer import check_tokenizer
from summarizer.inference import Summarizer
from summarizer.io import WriteError, atomic_directory, atomic_path, read_json, write_json
from summarizer.stages import run_handoff
from summarizer.stages.headline import headline_metrics

log = logging.getLogger(__name__)


def evaluate_extra(
    name: str, spec: ExtraTestSet, summarizer: Summarizer, params: EvaluateParams
) -> ExtraTestSetScores:
    """Model and baseline scores on an extra test set, under that set's own convention (DUC:
    recall of predictions cut to 75 bytes)."""
    table = load_extra_test_set(Paths.external_test_set(name), name, spec)
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
    return ExtraTestSetScores(
        measure=spec.measure,
        truncate_bytes=spec.truncate_bytes,
        model=model.to_metrics(),
        baseline=lead.to_metrics(),
    )


def _warn_if_not_standard(name: str, examples: int) -> None:
    warning = size_warning(name, examples)
    if warning is not None:
        log.warning(warning)


OUTPUT_FILES = (Paths.evaluation, Paths.metrics, Paths.predictions, Paths.rouge_by_length)


def run(params: EvaluationStageParams) -> EvaluationReport:
    """Run the ``evaluate`` stage on the trained model in ``models/summarizer``.

    Writes ``reports/evaluation.json`` (test ROUGE with confidence intervals, the baseline, the
    degeneracy checks, decoding speed, every extra test set), the headline numbers of it and of
    training as ``reports/metrics.json`` (:mod:`summarizer.stages.headline`),
    ``reports/predictions.jsonl``, ``reports/rouge_by_length.csv`` and the attention heatmaps;
    the headline numbers become the metrics of the training run named in
    ``models/mlflow_run.json``, the files its artifacts. Returns the evaluation.
    """
    from summarizer import run_ownership, tracking, tracking_runs

    evaluate = params.evaluate
    training_run_record = run_handoff.training_record()
    uri = tracking.tracking_uri(params.tracking.uri)
    if training_run_record is not None:
        tracking.ensure_reachable(uri)
        run_ownership.close_abandoned_runs(uri, params.tracking.experiment)

    summarizer = Summarizer.from_dir(Paths.model_dir, fallback=evaluate.decode)
    run_handoff.check_model_is_of(summarizer.loaded.meta, training_run_record)
    summarizer.require_options(evaluate.decode, "evaluate.decode")  # decodes with its own
    table = load_split(Paths.interim_split("test"), evaluate.max_test_examples)
    documents = table["document"].tolist()
    references = table["references"].tolist()
    _warn_if_not_standard(params.dataset.name, len(table))
    ingest_report = read_json(Paths.ingest_report) if Paths.ingest_report.is_file() else {}
    options = ScoringOptions.from_params(evaluate.scoring)
    check_tokenizer(references, options)  # before decoding: text the scorer would mostly drop

    started = time.perf_counter()
    sources = summarizer.loaded.processor.tokenize_source(documents)
    summaries = summarizer.summarize_tokens(sources, progress="decode test")
    decode_seconds = time.perf_counter() - started
    predictions = split_like_references([summary.text for summary in summaries], references)

    log.info("scoring %d predictions", len(predictions))
    model_scores = score_corpus(predictions, references, options, progress=True)
    baseline_predictions = [baseline(document, evaluate) for document in documents]
    baseline_scores = score_corpus(baseline_predictions, references, options)

    baseline_name = EvaluationReport.baseline_name(evaluate.baseline, evaluate.lead_n)
    test_set = ScoredTestSet.model_validate(
        size_entry(params.dataset.name, len(predictions), ingest_report)
    )
    report = EvaluationReport(
        test_set=test_set,
        test=model_scores.to_metrics(),
        baselines={baseline_name: baseline_scores.to_metrics()},
        checks=DegeneracyChecks.model_validate(
            degeneracy_metrics(predictions, references, summarizer.content_words)
        ),
        decoding=Decoding(
            examples=len(predictions),
            seconds=round(decode_seconds, 2),
            examples_per_second=round(len(predictions) / max(decode_seconds, 1e-9), 2),
            beam_size=evaluate.decode.beam_size,
        ),
    )
    for name, spec in evaluate.extra_test_sets.items():
        log.info("evaluating on extra test set '%s'", name)
        report.extra_test_sets[name] = evaluate_extra(name, spec, summarizer, evaluate)

    training = read_json(Paths.train_metrics) if Paths.train_metrics.is_file() else None
    headline = headline_metrics(report, baseline_name, training)

    # All or nothing: each output is written beside its target and logged from there, and all
    # are renamed over the previous evaluation's at the end of the block. A full disk or a
    # failing store leaves them as they were; a run of its own never stays RUNNING.
    try:
        with ExitStack() as outputs:
            staged = {path: outputs.enter_context(atomic_path(path)) for path in OUTPUT_FILES}
            attention = outputs.enter_context(atomic_directory(Paths.attention_dir))
            per_example = model_scores.per_example
            write_predictions(staged[Paths.predictions], table, predictions, per_example)
            write_rouge_by_length(
                staged[Paths.rouge_by_length],
                [len(source) for source in sources],
                per_example,
                evaluate.length_buckets,
            )
            # A fixed-context model attends to nothing: an all-zero heatmap would say nothing.
            drawn = evaluate.attention_examples if summarizer.loaded.model.has_attention else 0
            count = min(drawn, len(summaries))
            draw_attention(summaries[:count], table["id"].tolist()[:count], attention)
            run = None
            if training_run_record is not None:
                training_run = tracking_runs.TrackedRun(uri, training_run_record.run_id)
                run = training_run.for_evaluation(params.to_tracked_dict("evaluate"))
                report.run_id = run.run_id  # the run register logs the model into
                if run.run_id != training_run.run_id:
                    # A run of its own ends with this stage; the training run ended with training.
                    outputs.enter_context(run.closing())
            write_json(staged[Paths.evaluation], report.to_dict())
            write_json(staged[Paths.metrics], headline)
            if run is not None:
                run.log_metrics(headline)
                for path in (Paths.evaluation, Paths.predictions, Paths.rouge_by_length):
                    run.log_artifact(staged[path], "evaluation")
                if attention.is_dir():
                    run.log_artifact(attention, "evaluation/attention")
    except WriteError as exc:
        exc.kept = "no output of evaluate was replaced"
        raise
    log.info(
        "test ROUGE F1 on %d examples: %s (baseline %s)%s",
        model_scores.n_examples,
        " / ".join(f"{k} {v:.2f}" for k, v in model_scores.headline().items()),
        " / ".join(f"{v:.2f}" for v in baseline_scores.headline().values()),
        f"; {test_set.note}" if test_set.note else "",
    )
    return report
