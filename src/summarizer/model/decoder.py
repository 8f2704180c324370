"""Attention decoder with a one-call fast path for teacher forcing.

Per step ``t`` (Luong et al. 2015, "global attention"), for dot / general / concat:

    h_t   = RNN([emb(y_{t-1}); h~_{t-1} if input feeding], h_{t-1})
    c_t   = attention(query=h_t, memory)
    h~_t  = tanh(W_c [c_t; h_t])                    # the "attentional vector"
    logits = W_out h~_t                             # (through a pre-output layer when tied)

Because the query ``h_t`` is the RNN's *output*, when the RNN inputs do not depend on earlier
outputs (teacher forcing ratio 1, no input feeding) the RNN runs over the whole target in one call
and attention, ``W_c`` and ``W_out`` are batched over all steps: no Python loop over time.

``bahdanau`` keeps Bahdanau et al.'s wiring instead: the query is the *previous* top-layer state
``h_{t-1}`` and the context is fed into the RNN input, ``h_t = RNN([emb; c_t], h_{t-1})``; the
output head is the same ``tanh(W_c [c_t; h_t])``. Step ``t``'s RNN input then depends on step
``t-1``'s output, so Bahdanau always takes the stepwise path (documented, not a silent fallback:
see :meth:`Decoder.can_run_parallel`). Use ``concat`` for the same additive score on the fast path.

With ``attention="none"`` (the fixed-context model of the classic tutorial) the encoder's final
state starts the RNN and nothing else of the source is read: ``logits = W_out h_t``. Attention
weights are then all zero (the shapes stay those of every other model, and nothing is ever
attended), and the fast path is the same one call over all steps.

With ``copy`` the outputs are the pointer-generator's log-probabilities (``copy.py``) instead of
logits; with ``coverage`` the attention reads the coverage vector (``coverage.py``), which the
fast path follows with a loop over the attention alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from summarizer.config.choices import NO_ATTENTION
from summarizer.model.attention import Attention, make_attention
from summarizer.model.config import Seq2SeqConfig
from summarizer.model.copy import CopyGenerator
from summarizer.model.coverage import attend_with_coverage
from summarizer.model.encoder import EncoderMemory
from summarizer.model.rnn import make_rnn, run_rnn


@dataclass
class DecoderState:
    """Recurrent state for ``B`` rows: ``h`` ``[L, B, H]``, ``c`` (LSTM only), the previous
    attentional vector ``input_feed`` ``[B, H]`` (only with input feeding) and the coverage
    ``[B, S]``, float32, the attention summed over the steps so far (only with coverage)."""

    h: Tensor
    c: Tensor | None = None
    input_feed: Tensor | None = None
    coverage: Tensor | None = None

    def index_select(self, index: Tensor) -> DecoderState:
        """Rows ``index``: reorders beams and drops finished examples in one gather."""
        return DecoderState(
            self.h.index_select(1, index),
            None if self.c is None else self.c.index_select(1, index),
            None if self.input_feed is None else self.input_feed.index_select(0, index),
            None if self.coverage is None else self.coverage.index_select(0, index),
        )

    def rnn_state(self) -> Tensor | tuple[Tensor, Tensor]:
        """The state in the form ``nn.LSTM``/``nn.GRU`` take."""
        return self.h if self.c is None else (self.h, self.c)


class DecoderOutput(NamedTuple):
    """Scores ``[B, (T,) V]`` (logits, or log-probabilities over ``V + num_oov`` with copy;
    ``[N, V(+X)]`` when only ``scored`` positions were asked for), attention ``[B, (T,) S]`` and
    the coverage before each step (None without coverage)."""

    scores: Tensor
    attention: Tensor
    coverage: Tensor | None


class Decoder(nn.Module):
    """Attention decoder: one RNN, the attention over the encoder memory, and the output
    projection (mixed with copying when ``config.copy``)."""

    def __init__(self, config: Seq2SeqConfig, embedding: nn.Embedding) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden_dim
        self.bahdanau = config.attention == "bahdanau"
        self.embedding = embedding
        self.dropout = nn.Dropout(config.dropout)
        input_dim = config.emb_dim
        input_dim += hidden if config.input_feeding else 0
        input_dim += hidden if self.bahdanau else 0  # the context vector
        self.rnn = make_rnn(config.rnn_type, input_dim, hidden, config.dec_layers, config.dropout)
        self.attention: Attention | None = None
        self.combine: nn.Linear | None = None
        if config.attention != NO_ATTENTION:
            self.attention = make_attention(config.attention, hidden, hidden, config.coverage)
            self.combine = nn.Linear(2 * hidden, hidden, bias=False)
        # Tying reuses the [V, emb_dim] embedding as the output matrix, so the vector it multiplies
        # must have emb_dim features: a linear pre-output layer bridges hidden_dim -> emb_dim.
        out_dim = hidden
        self.pre_output: nn.Linear | None = None
        if config.tie_embeddings and hidden != config.emb_dim:
            self.pre_output = nn.Linear(hidden, config.emb_dim, bias=False)
            out_dim = config.emb_dim
        self.output = nn.Linear(out_dim, config.tgt_vocab_size)
        if config.tie_embeddings:
            self.output.weight = embedding.weight
        self.copy = CopyGenerator(hidden, config.emb_dim) if config.copy else None

    def can_run_parallel(self, teacher_forcing_ratio: float) -> bool:
        """Whether the fast path gives exactly the stepwise result."""
        return teacher_forcing_ratio >= 1.0 and not self.config.input_feeding and not self.bahdanau

    def init_state(self, h0: Tensor, c0: Tensor | None, mask: Tensor) -> DecoderState:
        """The decoder's first state from the encoder's bridged final state (``mask`` ``[B, S]``
        sizes the coverage)."""
        feed = None
        if self.config.input_feeding:
            feed = h0.new_zeros(h0.size(1), self.config.hidden_dim)
        coverage = None
        if self.config.coverage:
            coverage = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
        return DecoderState(h0, c0, feed, coverage)

    def embed(self, tokens: Tensor) -> Tensor:
        """Embedded (and dropped-out) input tokens."""
        if self.copy is not None:
            # A copied out-of-vocabulary word has a temporary id the embedding does not have:
            # it is read as <unk> (See et al.), whatever the caller feeds back.
            tokens = tokens.masked_fill(tokens >= self.config.tgt_vocab_size, self.config.unk_id)
        return self.dropout(self.embedding(tokens))

    def project(self, attn_vec: Tensor, scored: Tensor | None = None) -> Tensor:
        """Attentional vectors ``[..., H]`` -> logits ``[..., V]`` (one matmul for all steps),
        only at ``scored`` if given."""
        x = self.dropout(attn_vec)
        if scored is not None:
            # Dropped out first, whole, so the random masks are those of scoring every position.
            x = x.flatten(0, 1).index_select(0, scored)
        if self.pre_output is not None:
            x = self.pre_output(x)
        return self.output(x)

    def scores(
        self,
        attn_vec: Tensor,
        attention: Tensor,
        switch_input: Tensor | None,
        mem: EncoderMemory,
        scored: Tensor | None = None,
    ) -> Tensor:
        """Logits ``[..., V]``, or with copy the mixture's log-probabilities ``[..., V + X]``;
        with ``scored`` (``[N]`` indices into the ``B * T`` positions of ``attn_vec [B, T, H]``)
        only for those positions, ``[N, V(+X)]``."""
        # The output projection is the step's largest matmul: padded positions, whose scores no
        # loss reads, need not reach it.
        logits = self.project(attn_vec, scored)
        source = mem.copy
        if scored is not None:
            attention = attention.flatten(0, 1).index_select(0, scored)
            if switch_input is not None:
                switch_input = switch_input.flatten(0, 1).index_select(0, scored)
            if source is not None:
                rows = torch.div(scored, attn_vec.size(1), rounding_mode="floor")
                source = source.index_select(rows)
        if self.copy is None:
            return logits
        assert switch_input is not None and source is not None
        return self.copy(logits, attention, switch_input, source)

    def forward_parallel(
        self,
        tgt_in: Tensor,
        state: DecoderState,
        mem: EncoderMemory,
        scored: Tensor | None = None,
    ) -> DecoderOutput:
        """Teacher-forced fast path over ``tgt_in [B, T]`` (scores only at ``scored``, if given).

        Padding after a target's end needs no packing here: the RNN is causal, so padded inputs
        only change outputs at padded positions, which the loss ignores.
        """
        x = self.embed(tgt_in)
        out, _ = run_rnn(self.rnn, x, state.rnn_state())
        if self.attention is None:
            weights = no_attention(mem.mask, steps=tgt_in.size(1))
            return DecoderOutput(self.scores(out, weights, None, mem, scored), weights, None)
        covered = None
        if state.coverage is None:
            context, weights = self.attention(out, mem.memory, mem.keys, mem.mask)
        else:
            context, weights, covered, _ = attend_with_coverage(
                self.attention, out, mem.memory, mem.keys, mem.mask, state.coverage
            )
        assert self.combine is not None
        attn_vec = torch.tanh(self.combine(torch.cat([context, out], dim=-1)))
        switch = torch.cat([context, out, x], dim=-1) if self.copy is not None else None
        return DecoderOutput(self.scores(attn_vec, weights, switch, mem, scored), weights, covered)

    def step(
        self, tokens: Tensor, state: DecoderState, mem: EncoderMemory
    ) -> tuple[Tensor, Tensor, DecoderState]:
        """One step for ``tokens [B]``: ``(scores [B, V(+X)], attn [B, S], new state)``."""
        attn_vec, weights, switch, state = self._step(self.embed(tokens), state, mem)
        return self.scores(attn_vec, weights, switch, mem), weights, state

    def _step(
        self, emb: Tensor, state: DecoderState, mem: EncoderMemory
    ) -> tuple[Tensor, Tensor, Tensor | None, DecoderState]:
        """``(attentional vector [B, H], attn [B, S], switch input or None, new state)``."""
        inputs = [emb]
        if state.input_feed is not None:
            inputs.append(state.input_feed)
        if self.bahdanau:
            # Query = top layer's state *before* this step (Bahdanau et al. 2015).
            context, weights = self.attention(
                state.h[-1], mem.memory, mem.keys, mem.mask, state.coverage
            )
            inputs.append(context)
        out, new = run_rnn(self.rnn, torch.cat(inputs, dim=-1).unsqueeze(1), state.rnn_state())
        out = out.squeeze(1)
        h, c = new if isinstance(new, tuple) else (new, None)
        if self.attention is None:
            return out, no_attention(mem.mask), None, DecoderState(h, c)
        if not self.bahdanau:
            context, weights = self.attention(out, mem.memory, mem.keys, mem.mask, state.coverage)
        assert self.combine is not None
        attn_vec = torch.tanh(self.combine(torch.cat([context, out], dim=-1)))
        feed = attn_vec if self.config.input_feeding else None
        coverage = None if state.coverage is None else state.coverage + weights
        switch = torch.cat([context, out, emb], dim=-1) if self.copy is not None else None
        return attn_vec, weights, switch, DecoderState(h, c, feed, coverage)

    def forward_stepwise(
        self,
        tgt_in: Tensor,
        state: DecoderState,
        mem: EncoderMemory,
        teacher_forcing_ratio: float = 1.0,
        scored: Tensor | None = None,
    ) -> DecoderOutput:
        """Step-by-step decoding with teacher forcing ratio (one coin per step for the batch, as
        in the classic tutorials; the coins come from torch's RNG so a seed reproduces them);
        scores only at ``scored``, if given."""
        steps = tgt_in.size(1)
        gold = self.embed(tgt_in)  # one lookup for all gold inputs
        sampled = teacher_forcing_ratio < 1.0
        use_gold = (torch.rand(steps) < teacher_forcing_ratio).tolist() if sampled else None
        attn_vecs, weights, switches, covered, scores = [], [], [], [], []
        prev_pred: Tensor | None = None
        for t in range(steps):
            if prev_pred is None or use_gold is None or use_gold[t]:
                emb = gold[:, t]  # step 0 always reads <bos>
            else:
                emb = self.embed(prev_pred)
            if state.coverage is not None:
                covered.append(state.coverage)
            attn_vec, w, switch, state = self._step(emb, state, mem)
            weights.append(w)
            if sampled:
                # Scores are needed now to pick the next input; the argmax is not differentiated.
                step_scores = self.scores(attn_vec, w, switch, mem)
                scores.append(step_scores)
                prev_pred = step_scores.detach().argmax(-1)
            else:
                attn_vecs.append(attn_vec)
                switches.append(switch)
        all_weights = torch.stack(weights, dim=1)
        if sampled:
            all_scores = torch.stack(scores, dim=1)
            if scored is not None:
                all_scores = all_scores.flatten(0, 1).index_select(0, scored)
        else:
            switch_all = torch.stack(switches, dim=1) if self.copy is not None else None
            all_scores = self.scores(
                torch.stack(attn_vecs, dim=1), all_weights, switch_all, mem, scored
            )
        coverage = torch.stack(covered, dim=1) if covered else None
        return DecoderOutput(all_scores, all_weights, coverage)


def no_attention(mask: Tensor, steps: int | None = None) -> Tensor:
    """The weights of a model without attention: zero everywhere, float32, ``[B, S]`` (or
    ``[B, steps, S]``), so searches and reports handle it as any other model."""
    shape = mask.shape if steps is None else (mask.size(0), steps, mask.size(1))
    return torch.zeros(shape, dtype=torch.float32, device=mask.device)
