"""Evaluation: decoding the test split, ROUGE scoring, baselines, checks and reports.

=============  ===============================================================================
``inputs``     the scored examples: ingested splits and extra test sets, with references
``scoring``    ROUGE with confidence intervals (:class:`ScoringOptions`, :func:`score_corpus`)
``tokenizer``  what ROUGE counts as words: the Unicode tokenizer, the check that text is kept
``files``      predictions and references from files, for ``summarizer score``
``baselines``  lead-N words or sentences
``checks``     degeneracy checks (repeats, empty or identical outputs, length ratio)
``reports``    predictions JSONL, ROUGE by source length, attention heatmaps
``tuning``     ``tune-decoding``: ranking decoding options on held-out data
=============  ===============================================================================

Scoring, files, baselines and checks import neither torch nor MLflow, so ``summarizer score``
and code that only scores stay light. The ``evaluate`` stage is :mod:`summarizer.stages.evaluate`.
"""

from __future__ import annotations

from summarizer.evaluation.baselines import baseline, lead_sentences, lead_words, split_sentences
from summarizer.evaluation.checks import degeneracy_metrics
from summarizer.evaluation.files import read_texts, score_files
from summarizer.evaluation.scoring import CorpusScores, ScoringOptions, score_corpus, truncate_bytes
from summarizer.evaluation.tokenizer import UnicodeTokenizer

__all__ = [
    "CorpusScores",
    "ScoringOptions",
    "UnicodeTokenizer",
    "baseline",
    "degeneracy_metrics",
    "lead_sentences",
    "lead_words",
    "read_texts",
    "score_corpus",
    "score_files",
    "split_sentences",
    "truncate_bytes",
]
