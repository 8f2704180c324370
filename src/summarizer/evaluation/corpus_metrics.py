"""Corpus BLEU and chrF from sacrebleu, the translation metrics (``scoring.corpus_metrics``).

ROUGE is a mean over examples; BLEU and chrF are not: each is computed once from n-gram
statistics summed over the whole corpus, so an example's own score means little and the corpus
score is not the mean of them. Both come from `sacrebleu`, the implementation MT results are
reported with, with its defaults (BLEU-4 with exponential smoothing, chrF with character 6-grams
and beta 2) and a BLEU tokenizer named in params (``zh`` for Chinese, ``13a`` for English).

* **Several references**: every example's references are used together, as BLEU and chrF
  define it; examples may have different numbers of them (sacrebleu's ``None`` padding).
* **Confidence intervals**: the same percentile bootstrap over examples, with the same seed,
  samples and confidence, as ROUGE's (:mod:`summarizer.evaluation.scoring`). Each resample's
  score is recomputed from its examples' summed statistics, which is what sacrebleu's own
  ``--confidence`` does; its interval is fixed at 95% around the resamples' mean, this one
  follows ``evaluate.scoring.confidence`` and is reported beside the corpus score. The two
  methods this needs (``_extract_corpus_statistics``, ``_compute_score_from_stats``) are the
  ones sacrebleu's significance module uses; ``pyproject.toml`` bounds the version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from summarizer.config.evaluation import ScoringParams


def _metric(name: str, options: ScoringParams) -> BLEU | CHRF:
    if name == "bleu":
        return BLEU(tokenize=options.bleu_tokenize)
    return CHRF()


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """sacrebleu's layout: one stream per reference position, ``None`` where an example has
    fewer references than the most any has."""
    depth = max(len(refs) for refs in references)
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(depth)]


def corpus_scores(
    predictions: Sequence[str], references: Sequence[Sequence[str]], options: ScoringParams
) -> dict[str, float]:
    """``{name: score}`` for every metric in ``options.corpus_metrics`` (×100, as sacrebleu
    prints them), with ``{name}_low``/``{name}_high`` when ``options.bootstrap_samples`` > 0."""
    out: dict[str, float] = {}
    if not options.corpus_metrics:
        return out
    streams = reference_streams(references)
    rng_seed = options.seed
    for name in options.corpus_metrics:
        metric = _metric(name, options)
        stats = np.asarray(
            metric._extract_corpus_statistics(list(predictions), streams), dtype=np.float64
        )
        out[name] = float(metric._compute_score_from_stats(stats.sum(0).tolist()).score)
        if options.bootstrap_samples > 0:
            low, high = _bootstrap(metric, stats, options, rng_seed)
            out[f"{name}_low"], out[f"{name}_high"] = low, high
    return out


def _bootstrap(
    metric: BLEU | CHRF, stats: np.ndarray, options: ScoringParams, seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = len(stats)
    scores = np.empty(options.bootstrap_samples)
    for sample in range(options.bootstrap_samples):
        counts = np.bincount(rng.integers(0, n, size=n), minlength=n)
        scores[sample] = metric._compute_score_from_stats((counts @ stats).tolist()).score
    alpha = (1.0 - options.confidence) / 2.0
    low, high = np.quantile(scores, [alpha, 1.0 - alpha])
    return float(low), float(high)


def sentence_statistics(
    name: str,
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    bleu_tokenize: str = "13a",
) -> tuple[np.ndarray, Callable[[np.ndarray], float]]:
    """Each example's sacrebleu statistics for metric ``name`` (one row per example) and the
    function that turns rows into the corpus score: what a paired comparison resamples."""
    metric = BLEU(tokenize=bleu_tokenize) if name == "bleu" else CHRF()
    stats = np.asarray(
        metric._extract_corpus_statistics(list(predictions), reference_streams(references)),
        dtype=np.float64,
    )

    def corpus_score(rows: np.ndarray) -> float:
        return float(metric._compute_score_from_stats(rows.sum(0).tolist()).score)

    return stats, corpus_score
