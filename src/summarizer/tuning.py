"""Choosing decoding options on held-out data, never on the test split.

Beam search settings (length penalty, minimum length, ...) change ROUGE by a point or more:
a model trained on headlines tends to stop early, and ROUGE F1 rewards lengths near the
reference's. ``summarizer tune-decoding`` decodes the validation split once per combination of
the values given, scores each with the evaluate stage's scorer and ranks them, so the numbers in
``evaluate.decode`` come from a measurement that the test score never saw.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError
from tqdm.auto import tqdm

from summarizer.config import DecodeParams, format_validation_error
from summarizer.errors import ConfigError
from summarizer.inference import Summarizer
from summarizer.scoring import ScoringOptions, degeneracy_metrics, score_corpus

# Options that change what beam search writes; batch size only changes speed.
TUNABLE = (
    "beam_size",
    "alpha",
    "min_length",
    "max_length",
    "length_penalty",
    "no_repeat_ngram_size",
    "replace_unk",
)


@dataclass(frozen=True)
class Trial:
    options: DecodeParams
    changed: dict[str, Any]
    scores: dict[str, float]
    mean_length: float
    seconds: float


def grid(base: DecodeParams, values: Mapping[str, Sequence[Any]]) -> list[DecodeParams]:
    """Every combination of ``values`` applied over ``base``, validated like params.yaml."""
    unknown = sorted(set(values) - set(TUNABLE))
    if unknown:
        raise ConfigError(f"cannot tune {', '.join(unknown)}; tunable: {', '.join(TUNABLE)}")
    names = list(values)
    candidates = []
    for combination in itertools.product(*(values[name] for name in names)):
        changes = dict(zip(names, combination, strict=True))
        try:
            candidates.append(DecodeParams.model_validate({**base.model_dump(), **changes}))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"decoding options {changes}")) from None
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
        predictions = [summary.text for summary in summaries]
        scores = score_corpus(predictions, references, scoring).headline()
        checks = degeneracy_metrics(predictions, references)
        changed = {
            name: getattr(options, name)
            for name in TUNABLE
            if getattr(options, name) != getattr(base, name)
        }
        trials.append(
            Trial(options, changed, scores, float(checks["mean_prediction_length"]), seconds)
        )
    return sorted(trials, key=lambda trial: trial.scores[rank_by], reverse=True)


def trials_table(trials: Sequence[Trial]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                **{name: getattr(trial.options, name) for name in TUNABLE},
                **{f"{name}_f": round(value, 4) for name, value in trial.scores.items()},
                "mean_length": round(trial.mean_length, 2),
                "seconds": round(trial.seconds, 2),
            }
            for trial in trials
        ]
    )
