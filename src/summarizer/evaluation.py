"""Stage ``evaluate``: decode the test split, score it with ROUGE beside baselines, write reports.

All scores (model, baseline, extra test sets) come from :mod:`summarizer.scoring` with the same
options, in the same run, so they can be compared with each other and with ``summarizer score``.
"""

from __future__ import annotations

import json
import logging
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from summarizer.config import EvaluateParams, ExtraTestSet, Params, Paths
from summarizer.data.formats import read_parallel_text
from summarizer.errors import DataError
from summarizer.inference import Summarizer, Summary
from summarizer.io import atomic_path, write_json
from summarizer.scoring import (
    ScoringOptions,
    degeneracy_metrics,
    lead_sentences,
    lead_words,
    score_corpus,
)

log = logging.getLogger(__name__)


def scoring_options(params: EvaluateParams, **overrides: Any) -> ScoringOptions:
    scoring = params.scoring
    options = {
        "rouge_types": tuple(scoring.rouge_types),
        "use_stemmer": scoring.use_stemmer,
        "tokenizer": scoring.tokenizer,
        "bootstrap_samples": scoring.bootstrap_samples,
        "confidence": scoring.confidence,
        "seed": scoring.seed,
    }
    return ScoringOptions(**{**options, **overrides})


def baseline(document: str, params: EvaluateParams) -> str:
    if params.baseline == "lead_words":
        return lead_words(document, params.lead_n)
    return lead_sentences(document, params.lead_n)


def load_split(split: str, max_examples: int | None = None) -> pd.DataFrame:
    """An ingested split with a ``references`` list per row (one or several references)."""
    path = Paths.interim_split(split)
    if not path.is_file():
        raise DataError(f"{path}: not found; run the ingest stage first")
    table = pd.read_parquet(path)
    if max_examples is not None:
        table = table.head(max_examples)
    if "references" not in table.columns:
        table["references"] = table["summary"].map(lambda summary: [summary])
    else:
        table["references"] = table["references"].map(list)
    return table.reset_index(drop=True)


def rouge_by_length(
    source_lengths: list[int], per_example: list[dict[str, float]], edges: list[int]
) -> pd.DataFrame:
    frame = pd.DataFrame(per_example)
    bins = [0, *sorted(edges), float("inf")]
    labels = [
        f"{low + 1}-{high}" if high != float("inf") else f">{low}" for low, high in pairwise(bins)
    ]
    frame["source_length"] = pd.cut(source_lengths, bins=bins, labels=labels)
    columns = [c for c in frame.columns if c.endswith("_f")]
    grouped = frame.groupby("source_length", observed=True)[columns].mean().round(3)
    grouped["examples"] = frame.groupby("source_length", observed=True).size()
    return grouped.reset_index()


def draw_attention(summaries: list[Summary], ids: list[str], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        for example_id, summary in zip(ids, summaries, strict=True):
            if not summary.tokens:
                continue
            weights = summary.attention.float().numpy()
            width = max(6.0, 0.32 * len(summary.source_tokens))
            height = max(3.0, 0.32 * len(summary.tokens) + 1.5)
            fig, ax = plt.subplots(figsize=(width, height))
            ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
            ax.set_xticks(range(len(summary.source_tokens)), summary.source_tokens, rotation=90)
            ax.set_yticks(range(len(summary.tokens)), summary.tokens)
            ax.set_xlabel("source")
            ax.set_ylabel("summary")
            ax.set_title(f"attention, test example {example_id}")
            fig.tight_layout()
            fig.savefig(tmp / f"{example_id}.png", dpi=90)
            plt.close(fig)


def evaluate_extra(
    name: str, spec: ExtraTestSet, summarizer: Summarizer, params: EvaluateParams
) -> dict[str, Any]:
    table = read_parallel_text(
        Path(spec.path) / spec.document,
        [Path(spec.path) / ref for ref in spec.references],
        split=name,
    )
    references = (
        table["references"].map(list).tolist()
        if "references" in table
        else [[s] for s in table["summary"]]
    )
    summaries = summarizer.summarize(table["document"].tolist())
    options = scoring_options(params, truncate_bytes=spec.truncate_bytes, measure=spec.measure)
    predictions = [s.text for s in summaries]
    model = score_corpus(predictions, references, options)
    lead = score_corpus([baseline(d, params) for d in table["document"]], references, options)
    return {
        "measure": spec.measure,
        "truncate_bytes": spec.truncate_bytes,
        "model": model.to_metrics(),
        "baseline": lead.to_metrics(),
    }


def run_evaluate(params: Params) -> dict[str, Any]:
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

    started = time.perf_counter()
    sources = summarizer.loaded.processor.tokenize_source(documents)
    summaries = summarizer.summarize_tokens(sources, progress="decode test")
    decode_seconds = time.perf_counter() - started
    predictions = [summary.text for summary in summaries]

    options = scoring_options(evaluate)
    log.info("scoring %d predictions", len(predictions))
    model_scores = score_corpus(predictions, references, options, progress=True)
    baseline_predictions = [baseline(document, evaluate) for document in documents]
    baseline_scores = score_corpus(baseline_predictions, references, options)
    checks = degeneracy_metrics(predictions, references)

    metrics: dict[str, Any] = {
        "test": model_scores.to_metrics(),
        f"baseline_{evaluate.baseline}_{evaluate.lead_n}": baseline_scores.to_metrics(),
        "checks": checks,
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

    with atomic_path(Paths.predictions) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for row, prediction, scores in zip(
            table.itertuples(index=False), predictions, model_scores.per_example, strict=True
        ):
            record = {
                "id": row.id,
                "document": row.document,
                "reference": row.summary,
                "references": list(row.references),
                "prediction": prediction,
                "rouge": {k: round(v, 3) for k, v in scores.items()},
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    by_length = rouge_by_length(
        [len(source) for source in sources], model_scores.per_example, evaluate.length_buckets
    )
    with atomic_path(Paths.rouge_by_length) as tmp:
        by_length.to_csv(tmp, index=False)
    count = min(evaluate.attention_examples, len(summaries))
    draw_attention(summaries[:count], table["id"].tolist()[:count], Paths.attention_dir)
    write_json(Paths.metrics, metrics)

    if run_info is not None:
        run = tracking.TrainingRun(uri, run_info["run_id"])
        flat = {f"test_{k}": v for k, v in metrics["test"].items() if k != "n_examples"}
        flat.update(
            {
                f"baseline_{k}": v
                for k, v in baseline_scores.to_metrics().items()
                if k != "n_examples"
            }
        )
        flat.update({f"check_{k}": v for k, v in checks.items() if isinstance(v, (int, float))})
        flat["decode_examples_per_second"] = metrics["decoding"]["examples_per_second"]
        for name in evaluate.extra_test_sets:
            flat.update(
                {f"{name}_{k}": v for k, v in metrics[name]["model"].items() if k != "n_examples"}
            )
        run.log_metrics(flat)
        for path in (Paths.metrics, Paths.predictions, Paths.rouge_by_length):
            run.log_artifact(path, "evaluation")
        if Paths.attention_dir.is_dir():
            run.log_artifact(Paths.attention_dir, "evaluation/attention")
    headline = model_scores.headline()
    log.info(
        "test ROUGE F1: %s (baseline %s)",
        " / ".join(f"{k} {v:.2f}" for k, v in headline.items()),
        " / ".join(f"{v:.2f}" for v in baseline_scores.headline().values()),
    )
    return metrics
