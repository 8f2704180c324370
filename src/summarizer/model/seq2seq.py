"""The encoder-decoder model: what the trainer optimises and what search decodes with."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from summarizer.model.config import Seq2SeqConfig
from summarizer.model.decoder import Decoder, DecoderState
from summarizer.model.encoder import Encoder, EncoderMemory

# OpenNMT's default initialisation: small uniform weights are a well-tested start for RNN
# seq2seq (Sutskever et al. used +-0.08) and keep tied output logits small at step 0.
INIT_RANGE = 0.1


class Seq2SeqOutput(NamedTuple):
    """Teacher-forced outputs for a whole target sequence."""

    logits: Tensor  # [B, T, V]
    attention: Tensor  # [B, T, S], float32, zero on source padding


class StepOutput(NamedTuple):
    """Outputs of one decoding step, with the state to continue from."""

    logits: Tensor  # [B, V]
    attention: Tensor  # [B, S]
    state: DecoderState


class Seq2Seq(nn.Module):
    """Recurrent encoder-decoder with attention; see ``decoder.py`` for the equations.

    Batches are batch-first: ``src [B, S]`` padded with ``pad_id``, ``src_lengths [B]`` (>= 1),
    ``tgt_in [B, T]`` = ``<bos> y_1 ... y_{T-1}`` (the loss targets are ``y_1 ... <eos>``).
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

    def num_parameters(self) -> int:
        """Number of parameters, shared and tied ones counted once."""
        return sum(p.numel() for p in self.parameters())

    def uses_fast_path(self, teacher_forcing_ratio: float = 1.0) -> bool:
        """Whether :meth:`forward` runs all target steps in one call for this teacher-forcing
        ratio."""
        return self.decoder.can_run_parallel(teacher_forcing_ratio)

    def encode(self, src: Tensor, src_lengths: Tensor) -> tuple[EncoderMemory, DecoderState]:
        """Run the encoder once: attention memory and the decoder's initial state."""
        memory, h0, c0 = self.encoder(src, src_lengths)
        # The mask comes from the lengths, the same truth packing used, not from pad ids.
        positions = torch.arange(src.size(1), device=src.device)
        mask = positions.unsqueeze(0) < src_lengths.to(src.device).unsqueeze(1)
        keys = self.decoder.attention.precompute(memory)
        return EncoderMemory(memory, mask, keys), self.decoder.init_state(h0, c0)

    def decode_step(self, tokens: Tensor, state: DecoderState, memory: EncoderMemory) -> StepOutput:
        """One decoding step for ``tokens [B]`` (the previous output, ``<bos>`` at first)."""
        attn_vec, weights, state = self.decoder.step(tokens, state, memory)
        return StepOutput(self.decoder.project(attn_vec), weights, state)

    def forward(
        self,
        src: Tensor,
        src_lengths: Tensor,
        tgt_in: Tensor,
        teacher_forcing_ratio: float = 1.0,
        force_stepwise: bool = False,
    ) -> Seq2SeqOutput:
        """Logits for every target position and the attention that produced them.

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
        memory, state = self.encode(src, src_lengths)
        if self.uses_fast_path(teacher_forcing_ratio) and not force_stepwise:
            logits, attention = self.decoder.forward_parallel(tgt_in, state, memory)
        else:
            logits, attention = self.decoder.forward_stepwise(
                tgt_in, state, memory, teacher_forcing_ratio
            )
        return Seq2SeqOutput(logits, attention)
