"""Choosing decoding options on held-out data, never on the test split.

Beam search settings (length penalty, minimum length, ...) change ROUGE by a point or more:
a model trained on headlines tends to stop early, and ROUGE F1 rewards lengths near the
reference's. ``summarizer tune-decoding`` decodes the validation split once per combination of
the values given, scores each with the evaluate stage's scorer and ranks them, so the numbers in
``evaluate.decode`` come from a measurement that the test score never saw.

What may be tuned is :meth:`DecodeParams.output_options` (the options that change the summaries),
and every combination is validated by :meth:`DecodeParams.with_overrides`, as params.yaml is.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

from summarizer.config.evaluation import DecodeParams
from summarizer.errors import ConfigError
from summarizer.evaluation.checks import degeneracy_metrics
from summarizer.evaluation.inputs import split_like_references
from summarizer.evaluation.scoring import ScoringOptions, score_corpus

if TYPE_CHECKING:
    from summarizer.inference import Summarizer


@dataclass(frozen=True)
class Trial:
    """One combination of decoding options and what it scored.

    Attributes:
        options: the full decoding options decoded with.
        changed: the options that differ from the base options (what to set in params.yaml).
        scores: headline ROUGE per type (×100).
        mean_length: mean prediction length in whitespace tokens.
        repeated_word_share: share of predictions that say a content word twice (stutter).
        seconds: decoding time.
    """

    options: DecodeParams
    changed: dict[str, Any]
    scores: dict[str, float]
    mean_length: float
    repeated_word_share: float
    seconds: float


def grid(base: DecodeParams, values: Mapping[str, Sequence[Any]]) -> list[DecodeParams]:
    """Every combination of ``values`` applied over ``base``, validated like params.yaml.

    Raises:
        ConfigError: naming an option that cannot be tuned (unknown, or one that only changes
            speed) or a combination with a bad value.
    """
    tunable = DecodeParams.output_options()
    unknown = sorted(set(values) - set(tunable))
    if unknown:
        raise ConfigError(f"cannot tune {', '.join(unknown)}; tunable: {', '.join(tunable)}")
    names = list(values)
    candidates = []
    for combination in itertools.product(*(values[name] for name in names)):
        changes = dict(zip(names, combination, strict=True))
        candidates.append(base.with_overrides(changes, source=f"decoding options {changes}"))
    return candidates


def sweep(
    summarizer: Summarizer,
    documents: Sequence[str],
    references: Sequence[Sequence[str]],
    candidates: Sequence[DecodeParams],
    scoring: ScoringOptions,
    *,
    base: DecodeParams,
    rank_by: str,
    progress: bool = False,
) -> list[Trial]:
    """Decode and score ``documents`` once per candidate, best ``rank_by`` ROUGE type first."""
    if rank_by not in scoring.rouge_types:
        raise ConfigError(f"rank_by: {rank_by!r} is not one of {', '.join(scoring.rouge_types)}")
    sources = summarizer.loaded.processor.tokenize_source(list(documents))
    trials = []
    for options in tqdm(candidates, desc="decoding options", disable=None if progress else True):
        started = time.perf_counter()
        summaries = summarizer.summarize_tokens(sources, options)
        seconds = time.perf_counter() - started
        # Sentence-split as evaluate does, so ROUGE-Lsum ranks trials as it scores the test set.
        predictions = split_like_references([summary.text for summary in summaries], references)
        scores = score_corpus(predictions, references, scoring).headline()
        checks = degeneracy_metrics(predictions, references, summarizer.content_words)
        changed = {
            name: getattr(options, name)
            for name in DecodeParams.output_options()
            if getattr(options, name) != getattr(base, name)
        }
        trials.append(
            Trial(
                options,
                changed,
                scores,
                float(checks["mean_prediction_length"]),
                float(checks["repeated_word_share"]),
                seconds,
            )
        )
    return sorted(trials, key=lambda trial: trial.scores[rank_by], reverse=True)


def trials_table(trials: Sequence[Trial]) -> pd.DataFrame:
    """One row per trial: every tunable option, the ROUGE F1 per type, mean length, stutter and
    time."""
    return pd.DataFrame(
        [
            {
                **{name: getattr(trial.options, name) for name in DecodeParams.output_options()},
                **{f"{name}_f": round(value, 4) for name, value in trial.scores.items()},
                "mean_length": round(trial.mean_length, 2),
                "repeated_word_share": round(trial.repeated_word_share, 4),
                "seconds": round(trial.seconds, 2),
            }
            for trial in trials
        ]
    )
