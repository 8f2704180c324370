"""Coverage (See et al. 2017, section 2.3): what the decoder has already attended to.

The coverage vector before step ``t`` is the sum of the attention of the steps before it,
``c_t = sum_{t' < t} a_t'`` (zero at the first step). It enters the attention score, so the
decoder can see which source words it already used, and the coverage loss
``sum_i min(a_t,i, c_t,i)`` penalises attending again to what is already covered.

How it enters the score depends on the score's form:

* additive (``concat``, ``bahdanau``): ``w_c c_i`` inside the tanh, See et al.'s equation (11);
* multiplicative (``dot``, ``general``): ``(u . h_t + b) c_i``. This is the coverage appended to
  every key as one more feature, with the query deciding how much covered positions count.

Both start at zero, so turning coverage on changes nothing until it is trained: the phase See et
al. add on a converged model starts exactly from that model (the trainer keeps these parameters
frozen before ``train.coverage_from_epoch``, and they stay zero).

The attention at step ``t`` then depends on the attention of every earlier step: a recurrence
through the attention alone, not the RNN. The teacher-forced fast path therefore still runs the
RNN in one call and loops over steps only for the (cheap) attention: :func:`attend_with_coverage`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from summarizer.model.attention import Attention


class CoverageGate(nn.Module):
    """The coverage term of a multiplicative score: ``(u . h_t + b) * c_i``."""

    def __init__(self, query_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(query_dim, 1)

    def forward(self, query: Tensor, coverage: Tensor) -> Tensor:
        """``query [B, T, H]``, ``coverage [B, T, S]`` -> score term ``[B, T, S]``."""
        return self.proj(query) * coverage


class CoverageFeature(nn.Module):
    """The coverage term inside an additive score's tanh: ``w_c * c_i``."""

    def __init__(self, attn_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(attn_dim))

    def forward(self, coverage: Tensor) -> Tensor:
        """``coverage [B, T, S]`` -> features ``[B, T, S, A]``."""
        return coverage.unsqueeze(-1) * self.weight


def attend_with_coverage(
    attention: Attention,
    query: Tensor,
    memory: Tensor,
    keys: Tensor | None,
    mask: Tensor,
    coverage: Tensor,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Attention of all ``T`` queries ``[B, T, H]`` with coverage starting at ``[B, S]``.

    Returns ``(context [B, T, M], weights [B, T, S], coverage before each step [B, T, S],
    coverage after the last step [B, S])``. The weights come one step at a time (each reads the
    coverage of the steps before it); the context is one batched matmul.
    """
    weights, before = [], []
    for t in range(query.size(1)):
        before.append(coverage)
        w = attention.weights(query[:, t], memory, keys, mask, coverage)
        weights.append(w)
        coverage = coverage + w
    all_weights = torch.stack(weights, dim=1)
    context = torch.bmm(all_weights.to(memory.dtype), memory)
    return context, all_weights, torch.stack(before, dim=1), coverage


def coverage_loss(attention: Tensor, coverage: Tensor) -> Tensor:
    """Per-step coverage loss ``sum_i min(a_i, c_i)``: ``[..., S]`` twice -> ``[...]``.

    Zero at a first step (nothing is covered yet) and growing each time attention returns to
    positions already attended to.
    """
    return torch.minimum(attention.float(), coverage.float()).sum(-1)


def coverage_parameters(module: nn.Module) -> list[nn.Parameter]:
    """The parameters of every coverage term in ``module`` (empty without coverage)."""
    return [
        p
        for m in module.modules()
        if isinstance(m, (CoverageGate, CoverageFeature))
        for p in m.parameters(recurse=True)
    ]
