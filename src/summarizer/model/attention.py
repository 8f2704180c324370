"""Attention over the encoder outputs: Luong dot / general / concat and Bahdanau additive.

Every variant is split in two so decoding stays cheap:

* ``precompute(memory)`` projects the encoder outputs once per source batch (the "keys");
* ``forward(query, memory, keys, mask)`` scores one query per example (``[B, H]``, a decoding
  step) or all of them at once (``[B, T, H]``, the teacher-forced fast path) with batched matmuls.

The modules only score; *where* the query comes from (the state after this step's RNN call, as in
Luong, or the state before it, as in Bahdanau) is the decoder's business.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from summarizer.model.config import ATTENTION_TYPES
from summarizer.model.coverage import CoverageFeature, CoverageGate


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last dim with ``mask`` (True = real token) broadcast over the query dims.

    Computed in float32 whatever the autocast dtype: the fill value is float32's most negative
    number, so padding gets exactly zero weight (exp underflows) without the -inf NaN trap for a
    row that would be fully masked, and without overflowing bf16/fp16.
    """
    scores = scores.float()
    if scores.dim() == 3:
        mask = mask.unsqueeze(1)
    return torch.softmax(scores.masked_fill(~mask, torch.finfo(torch.float32).min), dim=-1)


class Attention(nn.Module):
    """Base class: subclasses define ``precompute`` and ``score``.

    With ``coverage`` (See et al. 2017) the score also reads the coverage vector ``c_i``, the
    attention each source position received at earlier steps; see ``coverage.py``.
    """

    def precompute(self, memory: Tensor) -> Tensor | None:
        """Projected keys ``[B, S, *]`` reused at every step, or None when the memory is the key."""
        return None

    def score(
        self, query: Tensor, memory: Tensor, keys: Tensor | None, coverage: Tensor | None = None
    ) -> Tensor:
        """Unnormalised scores ``[B, T, S]`` for queries ``[B, T, H]`` (and coverage
        ``[B, T, S]``)."""
        raise NotImplementedError

    def weights(
        self,
        query: Tensor,
        memory: Tensor,
        keys: Tensor | None,
        mask: Tensor,
        coverage: Tensor | None = None,
    ) -> Tensor:
        """Attention weights (float32) for a 2-D query ``[B, H]`` -> ``[B, S]`` or a 3-D one
        ``[B, T, H]`` -> ``[B, T, S]``; ``coverage`` has the weights' shape."""
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)
            coverage = None if coverage is None else coverage.unsqueeze(1)
        weights = masked_softmax(self.score(query, memory, keys, coverage), mask)
        return weights.squeeze(1) if single else weights

    def forward(
        self,
        query: Tensor,
        memory: Tensor,
        keys: Tensor | None,
        mask: Tensor,
        coverage: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Return ``(context, weights)``: ``[B, M], [B, S]`` for a 2-D query, ``[B, T, M],
        [B, T, S]`` for a 3-D one. ``mask`` is ``[B, S]`` bool, True on real source tokens.
        Weights are float32 (they are probabilities one may plot or argmax)."""
        weights = self.weights(query, memory, keys, mask, coverage)
        return context_of(weights, memory), weights


def context_of(weights: Tensor, memory: Tensor) -> Tensor:
    """The weighted sums of ``memory [B, S, M]`` for weights ``[B, S]`` or ``[B, T, S]``."""
    if weights.dim() == 2:
        return torch.bmm(weights.unsqueeze(1).to(memory.dtype), memory).squeeze(1)
    return torch.bmm(weights.to(memory.dtype), memory)


class DotAttention(Attention):
    """Luong dot: ``score = h_t . h_s`` (needs query and memory of the same size)."""

    def __init__(self, query_dim: int, coverage: bool = False) -> None:
        super().__init__()
        self.coverage = CoverageGate(query_dim) if coverage else None

    def score(
        self, query: Tensor, memory: Tensor, keys: Tensor | None, coverage: Tensor | None = None
    ) -> Tensor:
        scores = torch.bmm(query, memory.transpose(1, 2))
        if self.coverage is not None and coverage is not None:
            scores = scores + self.coverage(query, coverage)
        return scores


class GeneralAttention(Attention):
    """Luong general: ``score = h_t^T W_a h_s``; ``W_a h_s`` is computed once per source."""

    def __init__(self, query_dim: int, memory_dim: int, coverage: bool = False) -> None:
        super().__init__()
        self.key_proj = nn.Linear(memory_dim, query_dim, bias=False)
        self.coverage = CoverageGate(query_dim) if coverage else None

    def precompute(self, memory: Tensor) -> Tensor:
        return self.key_proj(memory)

    def score(
        self, query: Tensor, memory: Tensor, keys: Tensor | None, coverage: Tensor | None = None
    ) -> Tensor:
        assert keys is not None, "GeneralAttention needs precompute(memory)"
        scores = torch.bmm(query, keys.transpose(1, 2))
        if self.coverage is not None and coverage is not None:
            scores = scores + self.coverage(query, coverage)
        return scores


class AdditiveAttention(Attention):
    """``score = v^T tanh(W_q h_t + W_k h_s [+ w_c c_s])``.

    This is Luong's *concat* (``W_a [h_t; h_s]`` split into two blocks) and Bahdanau's additive
    score alike; the two differ only in which decoder state the decoder passes as the query.
    The coverage term is See et al.'s equation (11).
    """

    def __init__(
        self, query_dim: int, memory_dim: int, attn_dim: int, coverage: bool = False
    ) -> None:
        super().__init__()
        self.query_proj = nn.Linear(query_dim, attn_dim, bias=True)
        self.key_proj = nn.Linear(memory_dim, attn_dim, bias=False)
        self.v = nn.Linear(attn_dim, 1, bias=False)
        self.coverage = CoverageFeature(attn_dim) if coverage else None

    def precompute(self, memory: Tensor) -> Tensor:
        return self.key_proj(memory)

    def score(
        self, query: Tensor, memory: Tensor, keys: Tensor | None, coverage: Tensor | None = None
    ) -> Tensor:
        assert keys is not None, "AdditiveAttention needs precompute(memory)"
        # [B, T, 1, A] + [B, 1, S, A]: the tanh needs the full T x S x A grid, there is no
        # matmul shortcut for additive scores.
        features = self.query_proj(query).unsqueeze(2) + keys.unsqueeze(1)
        if self.coverage is not None and coverage is not None:
            features = features + self.coverage(coverage)
        return self.v(torch.tanh(features)).squeeze(-1)


def make_attention(kind: str, query_dim: int, memory_dim: int, coverage: bool = False) -> Attention:
    """The attention module for ``kind``, one of :data:`~summarizer.model.ATTENTION_TYPES`
    (``concat`` and ``bahdanau`` score alike: they differ in the decoder's wiring), reading the
    coverage vector in its score when ``coverage``."""
    if kind == "dot":
        if query_dim != memory_dim:
            raise ValueError(
                f"dot attention needs equal query and memory sizes, got {query_dim} and "
                f"{memory_dim}"
            )
        return DotAttention(query_dim, coverage)
    if kind == "general":
        return GeneralAttention(query_dim, memory_dim, coverage)
    if kind in ("concat", "bahdanau"):
        return AdditiveAttention(query_dim, memory_dim, attn_dim=query_dim, coverage=coverage)
    raise ValueError(f"attention must be one of {ATTENTION_TYPES}, got {kind!r}")
