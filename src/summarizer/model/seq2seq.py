"""The encoder-decoder model: what the trainer optimises and what search decodes with."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from summarizer.model.config import Seq2SeqConfig
from summarizer.model.copy import CopySource
from summarizer.model.coverage import coverage_parameters
from summarizer.model.decoder import Decoder, DecoderState
from summarizer.model.encoder import Encoder, EncoderMemory

# OpenNMT's default initialisation: small uniform weights are a well-tested start for RNN
# seq2seq (Sutskever et al. used +-0.08) and keep tied output logits small at step 0.
INIT_RANGE = 0.1


class Seq2SeqOutput(NamedTuple):
    """Teacher-forced outputs for a whole target sequence.

    ``logits`` are scores whose softmax is the output distribution: logits ``[B, T, V]``
    without copy; with copy, float32 log-probabilities ``[B, T, V + num_oov]`` over the extended
    vocabulary (normalised already: ``log_softmax`` would leave them as they are). When the
    forward pass was given ``scored`` positions, ``logits`` holds only theirs, ``[N, V(+X)]``
    in the order of ``tgt.flatten()[scored]``.
    """

    logits: Tensor  # [B, T, V] or, with copy, [B, T, V + num_oov]; [N, ...] with `scored`
    attention: Tensor  # [B, T, S], float32, zero on source padding
    coverage: Tensor | None = None  # [B, T, S] coverage before each step (model.coverage)


class StepOutput(NamedTuple):
    """Outputs of one decoding step, with the state to continue from (``logits`` as in
    :class:`Seq2SeqOutput`, without the time dimension)."""

    logits: Tensor  # [B, V] or, with copy, [B, V + num_oov]
    attention: Tensor  # [B, S]
    state: DecoderState


class Seq2Seq(nn.Module):
    """Recurrent encoder-decoder, with attention or (``attention="none"``) a fixed context; see
    ``decoder.py`` for the equations.

    Batches are batch-first: ``src [B, S]`` padded with ``pad_id``, ``src_lengths [B]`` (>= 1),
    ``tgt_in [B, T]`` = ``<bos> y_1 ... y_{T-1}`` (the loss targets are ``y_1 ... <eos>``).

    With ``copy``, ``src_ext [B, S]`` gives the source in the extended vocabulary (target ids,
    then ``V + k`` for the example's ``k``-th out-of-vocabulary word) and ``num_oov`` the number
    of such ids the batch uses; outputs then range over ``V + num_oov`` ids. Without ``src_ext``
    the source ids themselves are used, right only for a shared vocabulary, and nothing can be
    copied beyond it (out-of-vocabulary words copy as ``<unk>``).
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        src_emb = nn.Embedding(config.src_vocab_size, config.emb_dim, padding_idx=config.pad_id)
        if config.share_src_tgt_embeddings:
            tgt_emb = src_emb
        else:
            tgt_emb = nn.Embedding(config.tgt_vocab_size, config.emb_dim, padding_idx=config.pad_id)
        self.encoder = Encoder(config, src_emb)
        self.decoder = Decoder(config, tgt_emb)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform initialisation of every weight (as OpenNMT-py's ``param_init``), padding rows
        zeroed."""
        for p in self.parameters():  # shared/tied parameters are yielded once
            nn.init.uniform_(p, -INIT_RANGE, INIT_RANGE)
        with torch.no_grad():
            for emb in (self.encoder.embedding, self.decoder.embedding):
                emb.weight[self.config.pad_id].zero_()
            # Zero coverage terms leave the attention as it was until coverage is trained.
            for p in self.coverage_parameters():
                p.zero_()

    def coverage_parameters(self) -> list[nn.Parameter]:
        """The parameters of the coverage terms in the attention (empty without coverage)."""
        return coverage_parameters(self)

    @property
    def outputs_log_probs(self) -> bool:
        """True when the outputs' ``logits`` are log-probabilities (a copy model)."""
        return self.config.copy

    @property
    def has_attention(self) -> bool:
        """False for the fixed-context model (``attention="none"``): its attention weights are
        zero, so nothing can be read from them (UNK replacement, heatmaps)."""
        return self.decoder.attention is not None

    def num_parameters(self) -> int:
        """Number of parameters, shared and tied ones counted once."""
        return sum(p.numel() for p in self.parameters())

    def uses_fast_path(self, teacher_forcing_ratio: float = 1.0) -> bool:
        """Whether :meth:`forward` runs all target steps in one call for this teacher-forcing
        ratio."""
        return self.decoder.can_run_parallel(teacher_forcing_ratio)

    def encode(
        self,
        src: Tensor,
        src_lengths: Tensor,
        src_ext: Tensor | None = None,
        num_oov: int | None = None,
    ) -> tuple[EncoderMemory, DecoderState]:
        """Run the encoder once: attention memory and the decoder's initial state.

        ``src_ext`` and ``num_oov`` matter only with copy (see the class); ``num_oov=None``
        reads it from ``src_ext`` (one device sync).
        """
        memory, h0, c0 = self.encoder(src, src_lengths)
        # The mask comes from the lengths, the same truth packing used, not from pad ids.
        positions = torch.arange(src.size(1), device=src.device)
        mask = positions.unsqueeze(0) < src_lengths.to(src.device).unsqueeze(1)
        attention = self.decoder.attention
        keys = attention.precompute(memory) if attention is not None else None
        copy = self._copy_source(src, src_ext, mask, num_oov) if self.config.copy else None
        return EncoderMemory(memory, mask, keys, copy), self.decoder.init_state(h0, c0, mask)

    def _copy_source(
        self, src: Tensor, src_ext: Tensor | None, mask: Tensor, num_oov: int | None
    ) -> CopySource:
        cfg = self.config
        if src_ext is None:
            if cfg.src_vocab_size != cfg.tgt_vocab_size:
                raise ValueError(
                    "a copy model with separate source and target vocabularies needs src_ext, "
                    "the source in the target's extended vocabulary"
                )
            src_ext, num_oov = src, 0
        if src_ext.shape != src.shape:
            raise ValueError(
                f"src_ext must have the shape of src {tuple(src.shape)}, got {tuple(src_ext.shape)}"
            )
        src_ext = src_ext.to(src.device)
        if num_oov is None:
            num_oov = max(0, int(src_ext.max()) + 1 - cfg.tgt_vocab_size)
        return CopySource.build(src_ext, mask, cfg.tgt_vocab_size, num_oov)

    def output_size(self, memory: EncoderMemory) -> int:
        """How many ids the outputs for ``memory`` range over (``V``, plus its OOVs with copy)."""
        return memory.copy.size if memory.copy is not None else self.config.tgt_vocab_size

    def decode_step(self, tokens: Tensor, state: DecoderState, memory: EncoderMemory) -> StepOutput:
        """One decoding step for ``tokens [B]`` (the previous output, ``<bos>`` at first)."""
        return StepOutput(*self.decoder.step(tokens, state, memory))

    def forward(
        self,
        src: Tensor,
        src_lengths: Tensor,
        tgt_in: Tensor,
        teacher_forcing_ratio: float = 1.0,
        force_stepwise: bool = False,
        *,
        src_ext: Tensor | None = None,
        num_oov: int | None = None,
        scored: Tensor | None = None,
    ) -> Seq2SeqOutput:
        """Scores for every target position, or only at ``scored`` (``[N]`` indices into the
        flattened ``[B * T]`` positions: those a loss reads, see ``Batch.scored``), and the
        attention that produced them.

        With ``teacher_forcing_ratio == 1`` and no input feeding (and not Bahdanau) the decoder
        runs in one recurrent call over all steps; ``force_stepwise`` takes the step loop anyway
        (it gives the same result; tests compare the two).
        """
        if not 0.0 <= teacher_forcing_ratio <= 1.0:
            raise ValueError(
                f"teacher_forcing_ratio must be in [0, 1], got {teacher_forcing_ratio}"
            )
        if tgt_in.dim() != 2 or tgt_in.size(1) == 0:
            raise ValueError(f"tgt_in must be [batch, steps>=1], got {tuple(tgt_in.shape)}")
        memory, state = self.encode(src, src_lengths, src_ext, num_oov)
        if self.uses_fast_path(teacher_forcing_ratio) and not force_stepwise:
            out = self.decoder.forward_parallel(tgt_in, state, memory, scored)
        else:
            out = self.decoder.forward_stepwise(
                tgt_in, state, memory, teacher_forcing_ratio, scored
            )
        return Seq2SeqOutput(*out)
