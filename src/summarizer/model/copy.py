"""Pointer-generator copying (See et al. 2017, section 2.2; OpenNMT-py's ``CopyGenerator``).

A switch ``p_gen = sigmoid(w . [c_t; h_t; x_t] + b)`` (context, decoder output, decoder input
embedding) mixes generating from the vocabulary with copying a source word:

    P(w) = p_gen * P_vocab(w) + (1 - p_gen) * sum_{i: src_i = w} a_i

over an *extended* vocabulary: the target vocabulary's ``V`` ids, then ``num_oov`` temporary
ids, one per out-of-vocabulary word of the example's source (``V + k`` is its ``k``-th such
word; the batch builds these ids, see ``summarizer.batching``). The model can thus write a word
it never saw in training. A copied out-of-vocabulary id fed back to the decoder reads ``<unk>``.

Numerics: the mixture is computed in float32 (autocast off) and in log space,
``logaddexp(log p_gen + log_softmax(logits), log(1 - p_gen) + log(copied))``, so probabilities
far below float32's range stay exact on the generation side, and the copy side never takes
``log(0)``: the copied mass is floored at float32's smallest normal number (whose log, -87.3, is
also what an out-of-vocabulary slot gets from the generation side), a floor far below any
probability that matters and whose gradient is zero.

The copy distribution is nonzero only at the ``S`` source words, so it is never built densely:
the output is the generation log-probabilities with, at each distinct source word, the mixed
value written in (an ``[rows, S]`` scatter rather than a second ``[rows, V]`` tensor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TINY = torch.finfo(torch.float32).tiny
LOG_FLOOR = math.log(TINY)


@dataclass
class CopySource:
    """The source as copying needs it, for ``B`` rows (examples or beams).

    ``ext`` ``[B, S]``: source ids in the extended vocabulary; ``first`` ``[B, S]``: the position
    of each word's first occurrence in its row (where its copied mass is summed); ``index``
    ``[B, S]``: where each position's mixed value is written in the output, its id at a word's
    first real position and a spare column (cut off afterwards) at repeats and padding, so each
    output entry is written once and gets its gradient once.
    """

    ext: Tensor
    first: Tensor
    index: Tensor
    vocab_size: int
    num_oov: int

    @classmethod
    def build(cls, src_ext: Tensor, mask: Tensor, vocab_size: int, num_oov: int) -> CopySource:
        """From extended source ids ``[B, S]`` and the source mask (True on real tokens)."""
        same = src_ext.unsqueeze(2) == src_ext.unsqueeze(1)  # [B, S, S]
        first = same.to(torch.uint8).argmax(dim=-1)  # argmax returns the first maximum
        positions = torch.arange(src_ext.size(1), device=src_ext.device)
        spare = vocab_size + num_oov
        index = torch.where(mask & (first == positions), src_ext, spare)
        return cls(src_ext, first, index, vocab_size, num_oov)

    @property
    def size(self) -> int:
        """The extended vocabulary's size, ``V + num_oov``."""
        return self.vocab_size + self.num_oov

    def index_select(self, index: Tensor) -> CopySource:
        """Rows ``index`` (beam expansion, dropping finished examples)."""
        return CopySource(
            self.ext.index_select(0, index),
            self.first.index_select(0, index),
            self.index.index_select(0, index),
            self.vocab_size,
            self.num_oov,
        )


def copy_log_probs(logits: Tensor, attention: Tensor, switch: Tensor, source: CopySource) -> Tensor:
    """Log-probabilities ``[B, (T,) V + num_oov]`` of the pointer-generator mixture.

    ``logits [B, (T,) V]`` (vocabulary scores), ``attention [B, (T,) S]``, ``switch [B, (T,) 1]``
    (the logit of ``p_gen``). Call it in float32; :class:`CopyGenerator` does.
    """
    single = logits.dim() == 2
    if single:
        logits, attention, switch = logits.unsqueeze(1), attention.unsqueeze(1), switch.unsqueeze(1)
    rows, steps, src_len = attention.shape
    shape = (rows, steps, src_len)
    vocab_size, extra = logits.size(-1), source.num_oov + 1  # OOV slots and the spare
    decoding = not torch.is_grad_enabled()
    if decoding:
        # The same values written into one buffer in place: a beam search step spent a fifth
        # of its time copying and filling [rows, V] tensors here.
        gen = logits.new_empty(rows, steps, vocab_size + extra)
        torch.log_softmax(logits, dim=-1, out=gen[..., :vocab_size])
        gen[..., :vocab_size].add_(F.logsigmoid(switch))
        gen[..., vocab_size:].fill_(LOG_FLOOR)
    else:
        gen = F.logsigmoid(switch) + torch.log_softmax(logits, dim=-1)
        gen = F.pad(gen, (0, extra), value=LOG_FLOOR)
    # Attention summed per distinct word (at its first position): a word said twice in the
    # source gets the mass of both positions.
    copied = attention.new_zeros(shape).scatter_add(
        -1, source.first.unsqueeze(1).expand(shape), attention
    )
    mixed = torch.logaddexp(
        gen.gather(-1, source.ext.unsqueeze(1).expand(shape)),
        F.logsigmoid(-switch) + copied.clamp_min(TINY).log(),
    )
    index = source.index.unsqueeze(1).expand(shape)
    out = (gen.scatter_ if decoding else gen.scatter)(-1, index, mixed)[..., :-1]
    return out.squeeze(1) if single else out


class CopyGenerator(nn.Module):
    """The switch ``p_gen`` and the mixture of generating and copying."""

    def __init__(self, hidden_dim: int, emb_dim: int) -> None:
        super().__init__()
        self.switch = nn.Linear(2 * hidden_dim + emb_dim, 1)

    def forward(
        self, logits: Tensor, attention: Tensor, switch_input: Tensor, source: CopySource
    ) -> Tensor:
        """``switch_input`` is ``[context; decoder output; input embedding]`` ``[..., 2H + E]``."""
        switch = self.switch(switch_input)
        # The mixture and its log in float32 whatever the autocast dtype: bf16's 8-bit mantissa
        # would round small copy probabilities away.
        with torch.autocast(logits.device.type, enabled=False):
            return copy_log_probs(logits.float(), attention.float(), switch.float(), source)
