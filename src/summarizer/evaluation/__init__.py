"""Evaluation: decoding the test split, ROUGE scoring, baselines, checks and reports.

=============  ===============================================================================
``stage``      ``run_evaluate``: the ``evaluate`` DVC stage (decodes with the model: torch)
``inputs``     the scored examples: ingested splits and extra test sets, with references
``scoring``    ROUGE with confidence intervals (:class:`ScoringOptions`, :func:`score_corpus`)
``files``      predictions and references from files, for ``summarizer score``
``baselines``  lead-N words or sentences
``checks``     degeneracy checks (repeats, empty or identical outputs, length ratio)
``reports``    predictions JSONL, ROUGE by source length, attention heatmaps
``tuning``     ``tune-decoding``: ranking decoding options on held-out data
=============  ===============================================================================

Scoring, files, baselines and checks import neither torch nor MLflow, so ``summarizer score``
and code that only scores stay light; :func:`run_evaluate` is imported from ``stage`` on first
use for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from summarizer.evaluation.baselines import baseline, lead_sentences, lead_words, split_sentences
from summarizer.evaluation.checks import degeneracy_metrics
from summarizer.evaluation.files import read_texts, score_files
from summarizer.evaluation.scoring import (
    CorpusScores,
    ScoringOptions,
    UnicodeTokenizer,
    score_corpus,
    truncate_bytes,
)

if TYPE_CHECKING:
    from summarizer.evaluation.stage import run_evaluate

__all__ = [
    "CorpusScores",
    "ScoringOptions",
    "UnicodeTokenizer",
    "baseline",
    "degeneracy_metrics",
    "lead_sentences",
    "lead_words",
    "read_texts",
    "run_evaluate",
    "score_corpus",
    "score_files",
    "split_sentences",
    "truncate_bytes",
]


def __getattr__(name: str) -> Any:
    # PEP 562: `from summarizer.evaluation import run_evaluate` loads the torch-side stage module
    # only when it is asked for.
    if name == "run_evaluate":
        from summarizer.evaluation.stage import run_evaluate

        return run_evaluate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
