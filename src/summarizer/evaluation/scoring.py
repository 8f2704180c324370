"""ROUGE scoring shared by ``evaluate``, ``score`` and ``tune-decoding`` (and the corpus BLEU and
chrF of :mod:`summarizer.evaluation.corpus_metrics`, when asked for).

Plain Python on top of `rouge-score` and NumPy (no torch, no MLflow, no DVC), so the pipeline
stage and the tools produce the same numbers for the same inputs.

Conventions, chosen to match how the summarization literature reports ROUGE:

* **Scores are ×100** (``66.67``, not ``0.6667``), Porter stemming on by default.
* **Several references**: each reference is scored separately and, *independently for every ROUGE
  type*, the reference with the best F1 is kept for that example. This is what rouge-score's
  ``RougeScorer.score_multi`` does and what ROUGE-1.5.5 does with jackknifing off and its
  "best model" scoring formula (``-f B``). Note that ROUGE-1.5.5's *default* formula (``-f A``)
  instead pools n-gram hits over all references; numbers from the two are not interchangeable.
  Precision and recall reported for a type come from the reference chosen by F1 for that type.
* **ROUGE-Lsum** (summary-level LCS) needs the sentences of a multi-sentence summary separated by
  newlines (``"first sentence .\\nsecond sentence ."``); use
  :func:`~summarizer.data.formats.join_sentences`. Without newlines ROUGE-Lsum equals ROUGE-L.
  Single-sentence data (headlines) need nothing.
* **Tokenizer** (``ScoringOptions.tokenizer``): rouge-score's own (``"default"``, ASCII only, what
  published numbers use) or :class:`~summarizer.evaluation.tokenizer.UnicodeTokenizer`
  (``"unicode"``), and the default refused where it would drop most of the text: see
  :mod:`summarizer.evaluation.tokenizer`.
* **DUC-2004 convention**: recall as the headline measure and system output cut to 75 bytes:
  ``ScoringOptions(measure="r", truncate_bytes=75)``. Only predictions are cut, never references.
* **Empty predictions** are scored (0 for every measure) and counted in the mean, never dropped,
  so a model cannot raise its score by emitting nothing for hard inputs.
* **Confidence intervals**: percentile bootstrap over examples (the scheme of rouge-score's
  ``BootstrapAggregator`` and ROUGE-1.5.5), seeded and vectorised with NumPy. The reported point
  value is the plain mean over examples, not the bootstrap median.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError
from rouge_score import rouge_scorer

from summarizer.config.base import format_validation_error
from summarizer.config.evaluation import ScoreConvention, ScoringParams
from summarizer.errors import ConfigError, DataError
from summarizer.evaluation.corpus_metrics import corpus_scores
from summarizer.evaluation.tokenizer import UnicodeTokenizer, check_tokenizer


class ScoringOptions(ScoringParams, ScoreConvention):
    """How predictions are scored: the ``evaluate.scoring`` params plus a test set's convention.

    Both halves, and every rule they are checked by, are defined once in
    :mod:`summarizer.config.evaluation` (:class:`~summarizer.config.evaluation.ScoringParams`,
    :class:`~summarizer.config.evaluation.ScoreConvention`); this class only puts them together.
    Building one with a bad value raises :class:`ConfigError` naming the option.
    """

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, "scoring options")) from None

    @classmethod
    def from_params(cls, params: ScoringParams, **choices: Any) -> ScoringOptions:
        """``params`` with ``choices`` (a test set's ``measure`` and ``truncate_bytes``, or any
        scoring option) applied, validated as ``params.yaml`` is."""
        return cls(**{**params.model_dump(), **choices})


def _make_scorer(options: ScoringOptions) -> rouge_scorer.RougeScorer:
    tokenizer = UnicodeTokenizer(options.use_stemmer) if options.tokenizer == "unicode" else None
    # split_summaries=False: sentence boundaries for rougeLsum are the newlines the caller put in,
    # never NLTK's guess (which needs the punkt download and differs between versions).
    return rouge_scorer.RougeScorer(
        list(options.rouge_types),
        use_stemmer=options.use_stemmer,
        split_summaries=False,
        tokenizer=tokenizer,
    )


def truncate_bytes(text: str, limit: int) -> str:
    """First ``limit`` bytes of ``text`` in UTF-8, never splitting a multi-byte character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def check_aligned(predictions: Sequence[Any], references: Sequence[Any]) -> None:
    """Raise :class:`DataError` unless there is exactly one reference entry per prediction."""
    if len(predictions) != len(references):
        raise DataError(
            f"{len(predictions)} predictions but {len(references)} references: "
            "they must be aligned one to one"
        )


# ------------------------------------------------------------------------------------ scoring
@dataclass
class CorpusScores:
    """Corpus-level ROUGE with confidence intervals, plus every example's own scores.

    Attributes:
        options: the options the scores were computed with.
        per_example: one dict per example, keys ``"{type}_{p|r|f}"`` (e.g. ``rouge1_f``), ×100.
        mean: corpus mean of every key of ``per_example``.
        low, high: bounds of the bootstrap confidence interval per key (empty when bootstrap is
            off).
        corpus: corpus BLEU/chrF (:mod:`summarizer.evaluation.corpus_metrics`) and their bounds.
    """

    options: ScoringOptions
    per_example: list[dict[str, float]]
    mean: dict[str, float]
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)
    # BLEU and chrF (options.corpus_metrics), with their bounds: corpus-level, not means.
    corpus: dict[str, float] = field(default_factory=dict)

    @property
    def n_examples(self) -> int:
        """How many examples were scored (empty predictions included)."""
        return len(self.per_example)

    def headline(self) -> dict[str, float]:
        """``{rouge_type: mean}`` of the headline measure (F1, or recall for DUC)."""
        return {t: self.mean[f"{t}_{self.options.measure}"] for t in self.options.rouge_types}

    def to_metrics(self) -> dict[str, float | int]:
        """Flat, JSON-safe mapping for ``evaluation.json``.

        Keys per ROUGE type: ``{t}_f``, ``{t}_f_low``, ``{t}_f_high``, ``{t}_p``, ``{t}_r`` (and
        ``_low``/``_high`` for p and r too), then ``bleu``/``chrf`` (and bounds) when scored,
        plus ``n_examples``. Values are rounded to 4 decimals
        so metric diffs are not noise.
        """
        out: dict[str, float | int] = {}
        for rouge_type in self.options.rouge_types:
            for measure in ("f", "p", "r"):
                key = f"{rouge_type}_{measure}"
                out[key] = round(float(self.mean[key]), 4)
                if key in self.low:
                    out[f"{key}_low"] = round(float(self.low[key]), 4)
                    out[f"{key}_high"] = round(float(self.high[key]), 4)
        out.update({key: round(value, 4) for key, value in self.corpus.items()})
        out["n_examples"] = self.n_examples
        return out


def _score_example(
    scorer: rouge_scorer.RougeScorer,
    rouge_types: Sequence[str],
    prediction: str,
    references: Sequence[str],
) -> dict[str, float]:
    # Best reference by F1, separately per ROUGE type; ties keep the first reference. This is
    # rouge-score's score_multi, re-done here so per-type precision/recall stay available.
    per_ref = [scorer.score(ref, prediction) for ref in references]
    row: dict[str, float] = {}
    for rouge_type in rouge_types:
        best = max(per_ref, key=lambda s: s[rouge_type].fmeasure)[rouge_type]
        row[f"{rouge_type}_p"] = 100.0 * best.precision
        row[f"{rouge_type}_r"] = 100.0 * best.recall
        row[f"{rouge_type}_f"] = 100.0 * best.fmeasure
    return row


def _bootstrap(
    matrix: np.ndarray, samples: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap of the column means of ``matrix`` (examples × metrics).

    Each resample is expressed as per-example counts so that the mean of a resample is one matrix
    product; resamples are drawn in chunks to keep memory near a few tens of MB on large test sets.
    """
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(samples, 4_000_000 // max(n, 1)))
    means = np.empty((samples, matrix.shape[1]))
    for start in range(0, samples, chunk):
        rows = min(chunk, samples - start)
        idx = rng.integers(0, n, size=(rows, n))
        # Offset each row's indices so one bincount gives a (rows × n) count table.
        offsets = (idx + (np.arange(rows) * n)[:, None]).ravel()
        counts = np.bincount(offsets, minlength=rows * n).reshape(rows, n)
        means[start : start + rows] = counts @ matrix / n
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return low, high


def score_corpus(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]] | Sequence[str],
    options: ScoringOptions | None = None,
    *,
    progress: bool = False,
) -> CorpusScores:
    """Score predictions against one or more references per example.

    Args:
        predictions: one text per example. Multi-sentence texts must be newline-joined for
            ROUGE-Lsum. Empty strings score 0 and are counted.
        references: per example, a list of reference texts (any number ≥ 1); a plain string is
            accepted as a single reference.
        options: scoring options; defaults to :class:`ScoringOptions()`.
        progress: show a tqdm progress bar (when tqdm is installed).

    Raises:
        DataError: if the counts differ, there is nothing to score, or an example has no reference.
        ConfigError: if the tokenizer would drop most of the references' text
            (:func:`check_tokenizer`).
    """
    options = options or ScoringOptions()
    check_aligned(predictions, references)
    if not predictions:
        raise DataError("nothing to score: no predictions were given")
    refs: list[list[str]] = [[r] if isinstance(r, str) else list(r) for r in references]
    for i, example_refs in enumerate(refs):
        if not example_refs:
            raise DataError(f"example {i} has no reference")
    check_tokenizer(refs, options)

    scorer = _make_scorer(options)
    pairs: Iterable[tuple[str, list[str]]] = zip(predictions, refs, strict=True)
    if progress:
        try:
            from tqdm.auto import tqdm

            pairs = tqdm(pairs, total=len(refs), desc="ROUGE", unit="ex", disable=None)
        except ImportError:  # the bar is a nicety, not a reason to fail
            pass

    per_example: list[dict[str, float]] = []
    for prediction, example_refs in pairs:
        if options.truncate_bytes is not None:
            prediction = truncate_bytes(prediction, options.truncate_bytes)
        per_example.append(_score_example(scorer, options.rouge_types, prediction, example_refs))

    keys = list(per_example[0])
    matrix = np.array([[row[k] for k in keys] for row in per_example], dtype=np.float64)
    mean = dict(zip(keys, matrix.mean(axis=0).tolist(), strict=True))
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    if options.bootstrap_samples > 0:
        lo, hi = _bootstrap(matrix, options.bootstrap_samples, options.confidence, options.seed)
        low = dict(zip(keys, lo.tolist(), strict=True))
        high = dict(zip(keys, hi.tolist(), strict=True))
    truncated = predictions
    if options.truncate_bytes is not None:
        truncated = [truncate_bytes(p, options.truncate_bytes) for p in predictions]
    corpus = corpus_scores(truncated, refs, options)
    return CorpusScores(
        options=options, per_example=per_example, mean=mean, low=low, high=high, corpus=corpus
    )
