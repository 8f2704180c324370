"""Recurrent encoder over packed padded sources, plus the bridge to the decoder's first state."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from summarizer.model.config import Seq2SeqConfig
from summarizer.model.copy import CopySource
from summarizer.model.rnn import make_rnn, run_rnn

# Above this many distinct source lengths in one batch, packing is cheaper than separate calls.
MAX_LENGTH_GROUPS = 4


@dataclass
class EncoderMemory:
    """What attention reads at every decoding step, for ``B`` rows (examples or beams).

    ``memory`` is ``[B, S, H]`` (zero on padding), ``mask`` ``[B, S]`` (True on real tokens),
    ``keys`` the attention's precomputed projection of ``memory`` (None for dot attention),
    ``copy`` the source in the extended vocabulary (only with ``copy``).
    """

    memory: Tensor
    mask: Tensor
    keys: Tensor | None
    copy: CopySource | None = None

    def index_select(self, index: Tensor) -> EncoderMemory:
        """Rows ``index`` (beam expansion, dropping finished examples)."""
        return EncoderMemory(
            self.memory.index_select(0, index),
            self.mask.index_select(0, index),
            None if self.keys is None else self.keys.index_select(0, index),
            None if self.copy is None else self.copy.index_select(index),
        )


def check_lengths(lengths: Tensor, max_len: int) -> Tensor:
    """Lengths as a CPU int64 tensor (what packing needs), with a clear error for bad values."""
    lengths = lengths.detach().to("cpu", torch.int64)
    if lengths.dim() != 1:
        raise ValueError(f"src_lengths must be 1-D [batch], got shape {tuple(lengths.shape)}")
    if lengths.numel() and int(lengths.min()) < 1:
        # Packing cannot represent an empty sequence and attention over nothing is undefined.
        # Callers encode an empty document as one token (e.g. <unk> or <eos>).
        raise ValueError(
            "every source needs at least one token (src_lengths has a 0); encode an empty "
            "document as a single <unk> or <eos> token"
        )
    if lengths.numel() and int(lengths.max()) > max_len:
        raise ValueError(
            f"src_lengths has {int(lengths.max())} but the padded source has only {max_len} "
            "positions"
        )
    return lengths


class Encoder(nn.Module):
    """Embeds and encodes the source with a (bidirectional) RNN and bridges its final state to the
    decoder's size."""

    def __init__(self, config: Seq2SeqConfig, embedding: nn.Embedding) -> None:
        super().__init__()
        self.config = config
        self.embedding = embedding
        self.dropout = nn.Dropout(config.dropout)
        self.rnn = make_rnn(
            config.rnn_type,
            config.emb_dim,
            config.enc_hidden_per_direction,
            config.enc_layers,
            config.dropout,
            config.bidirectional,
        )
        # One linear map from all encoder layers' final states to all decoder layers' initial
        # states: works for any pair of layer counts and lets each decoder layer pick what it needs.
        enc_state = config.enc_layers * config.hidden_dim
        dec_state = config.dec_layers * config.hidden_dim
        self.bridge_h = nn.Linear(enc_state, dec_state)
        self.bridge_c = nn.Linear(enc_state, dec_state) if config.rnn_type == "lstm" else None

    def forward(self, src: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """``src [B, S]`` -> ``(memory [B, S, H], h0 [L_dec, B, H], c0 or None)``."""
        lengths = check_lengths(src_lengths, src.size(1))
        x = self.dropout(self.embedding(src))
        distinct = torch.unique(lengths)
        if int(lengths.min()) == src.size(1):
            # No padding at all (length-bucketed batches often have none): the plain call gives
            # the same result and, on CPU, uses the fused oneDNN kernel instead of the per-step
            # loop that packed sequences fall back to there (about 1.5x slower).
            memory, state = run_rnn(self.rnn, x)
        elif x.device.type == "cpu" and len(distinct) <= MAX_LENGTH_GROUPS:
            memory, state = self._run_by_length(x, lengths, distinct.tolist())
        else:
            # Packing skips padded positions entirely, so a padded example's states are exactly
            # the ones it would have alone (enforce_sorted=False: no need to sort the batch).
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, state = run_rnn(self.rnn, packed)
            memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        if isinstance(state, tuple):
            h_n, c_n = state
            return memory, self._bridge(h_n, self.bridge_h), self._bridge(c_n, self.bridge_c)
        return memory, self._bridge(state, self.bridge_h), None

    def _run_by_length(
        self, x: Tensor, lengths: Tensor, distinct: list[int]
    ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """One fused RNN call per source length, reassembled in batch order.

        A length-bucketed batch usually holds one or two source lengths; on CPU a few fused
        calls beat the packed path's per-step loop, with the same per-example results.
        """
        rows = [torch.nonzero(lengths == length).squeeze(1) for length in distinct]
        outputs, states = [], []
        for length, index in zip(distinct, rows, strict=True):
            out, state = run_rnn(self.rnn, x[index, :length])
            outputs.append(F.pad(out, (0, 0, 0, x.size(1) - length)))
            states.append(state)
        order = torch.cat(rows).to(x.device)
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.numel(), device=x.device)
        memory = torch.cat(outputs)[inverse]
        if isinstance(states[0], tuple):
            h_n = torch.cat([h for h, _ in states], dim=1)[:, inverse]
            c_n = torch.cat([c for _, c in states], dim=1)[:, inverse]
            return memory, (h_n, c_n)
        return memory, torch.cat(states, dim=1)[:, inverse]

    def _bridge(self, final: Tensor, linear: nn.Linear | None) -> Tensor:
        assert linear is not None
        cfg = self.config
        batch = final.size(1)
        # [layers * directions, B, h] -> [B, layers * (directions * h)]: per layer, the forward and
        # backward final states side by side.
        flat = final.transpose(0, 1).reshape(batch, -1)
        init = torch.tanh(linear(flat))
        return init.view(batch, cfg.dec_layers, cfg.hidden_dim).transpose(0, 1).contiguous()
