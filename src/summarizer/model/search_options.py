"""What the decoding options mean at each step of :mod:`summarizer.model.search`: the checks of
their values, the tokens they rule out, and the length penalty that scores a finished output.

The options have no defaults here or in the searches: their one definition, defaults included,
is :class:`summarizer.config.evaluation.DecodeParams`, whose ``length_penalty`` choices are
:data:`LENGTH_PENALTIES`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from summarizer.config.choices import LENGTH_PENALTIES
from summarizer.model.config import Seq2SeqConfig

NEG_INF = float("-inf")


def check_options(
    max_length: int,
    min_length: int,
    ngram: int,
    length_penalty: str,
    beam_size: int,
    coverage_penalty: float,
) -> None:
    """A :class:`ValueError` for options no search can run with."""
    if coverage_penalty < 0:
        raise ValueError(f"coverage_penalty must be >= 0 (0 = off), got {coverage_penalty}")
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if max_length < 0:
        raise ValueError(f"max_length must be >= 0, got {max_length}")
    if not 0 <= min_length <= max_length:
        raise ValueError(f"min_length must be in [0, max_length={max_length}], got {min_length}")
    if ngram < 0:
        raise ValueError(f"no_repeat_ngram_size must be >= 0 (0 = off), got {ngram}")
    if length_penalty not in LENGTH_PENALTIES:
        raise ValueError(
            f"length_penalty must be one of {LENGTH_PENALTIES}, got {length_penalty!r}"
        )


def constrain(
    log_probs: Tensor,
    history: Tensor,
    t: int,
    cfg: Seq2SeqConfig,
    min_length: int,
    max_length: int,
    ngram: int,
    unrepeatable: Tensor | None,
) -> None:
    """Forbid (in place, -inf) what the options rule out at output position ``t``.

    ``unrepeatable [V]`` (bool, or None for no such rule): the vocabulary ids a hypothesis may
    not write again once it has them (content words: :mod:`summarizer.content_words`).
    """
    pad_id, bos_id, eos_id = cfg.pad_id, cfg.bos_id, cfg.eos_id
    log_probs[:, pad_id] = NEG_INF
    log_probs[:, bos_id] = NEG_INF
    if t < min_length:
        log_probs[:, eos_id] = NEG_INF
    if t == max_length:
        eos = log_probs[:, eos_id].clone()
        log_probs.fill_(NEG_INF)
        log_probs[:, eos_id] = eos
        return
    if ngram > 0 and t >= ngram:  # history holds t tokens: a full n-gram exists
        block_ngrams(log_probs, history, ngram)
    if unrepeatable is not None and t > 0:
        block_repeats(log_probs, history, unrepeatable)


def block_repeats(log_probs: Tensor, history: Tensor, unrepeatable: Tensor) -> None:
    """Ban every token of ``history [N, t]`` that ``unrepeatable`` marks. Ids beyond it are
    source words copied from outside the vocabulary (a copy model's extended ids): rare words,
    so content words, banned too."""
    size = unrepeatable.numel()
    banned = torch.where(history < size, unrepeatable[history.clamp(max=size - 1)], True)
    rows, positions = banned.nonzero(as_tuple=True)
    log_probs[rows, history[rows, positions]] = NEG_INF


def coverage_excess(coverage: Tensor) -> Tensor:
    """OpenNMT-py's "summary" coverage penalty before its weight: the attention given beyond 1
    to each source position, summed (``coverage [..., S]`` -> ``[...]``). A hypothesis that
    keeps attending to words it has already written pays for it (See et al.'s repetition)."""
    return (coverage - 1.0).clamp(min=0.0).sum(-1)


def block_ngrams(log_probs: Tensor, history: Tensor, n: int) -> None:
    """Ban every token that would complete an n-gram already in ``history [N, t]``.

    Writes only the banned entries: a mask as large as ``log_probs`` cost more than the rest of
    the constraint.
    """
    if n == 1:
        log_probs.scatter_(1, history, NEG_INF)
        return
    windows = history.unfold(1, n, 1)  # [N, t-n+1, n]: every n-gram so far
    suffix = history[:, history.size(1) - (n - 1) :]  # the n-1 tokens the next one extends
    match = (windows[:, :, :-1] == suffix.unsqueeze(1)).all(dim=-1)
    rows, starts = match.nonzero(as_tuple=True)
    log_probs[rows, windows[rows, starts, -1]] = NEG_INF


def normalize(scores: Tensor, lengths: Tensor, length_penalty: str, alpha: float) -> Tensor:
    """Summed log-probabilities divided by the length penalty of the scored lengths."""
    if length_penalty == "avg":
        return scores / lengths.to(scores.dtype)
    if length_penalty == "gnmt":
        return scores / ((5.0 + lengths.to(scores.dtype)) / 6.0) ** alpha
    return scores
