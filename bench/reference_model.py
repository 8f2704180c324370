"""BENCHMARK BASELINE ONLY: the "classic tutorial" seq2seq that the training benchmark measures.

This is reference model (a) of the training-throughput benchmark, written the way the classic
PyTorch seq2seq tutorial writes it, on purpose *without* this project's optimisations: no
attention, no packing, time-major tensors, and a Python loop over target positions that feeds the
true previous token with probability ``teacher_forcing_ratio`` (0.5) and the argmax otherwise
(one ``random.random()`` coin per step, as the tutorial does). Do not use it for anything else.

Shapes (time-major, as in the tutorial): ``src [S, B]``, ``trg [T, B]`` with ``trg[0] = <bos>``;
``forward`` returns ``[T, B, V]`` whose row 0 stays zero, so the loss is taken over
``outputs[1:]`` against ``trg[1:]`` (cross-entropy ignoring padding, Adam, clip 1).
"""

from __future__ import annotations

import random

import torch
from torch import Tensor, nn


class ReferenceEncoder(nn.Module):
    """The tutorial's encoder: embedding, dropout, a unidirectional LSTM over the whole padded
    batch (no packing); only the final hidden and cell states are kept (no attention)."""

    def __init__(
        self,
        vocab_size: int,
        emb_dim: int = 256,
        hid_dim: int = 512,
        n_layers: int = 2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: Tensor) -> tuple[Tensor, Tensor]:
        embedded = self.dropout(self.embedding(src))
        _, (hidden, cell) = self.rnn(embedded)
        return hidden, cell


class ReferenceDecoder(nn.Module):
    """The tutorial's decoder: one target position per call, from the previous token and state."""

    def __init__(
        self,
        vocab_size: int,
        emb_dim: int = 256,
        hid_dim: int = 512,
        n_layers: int = 2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers, dropout=dropout)
        self.fc_out = nn.Linear(hid_dim, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, token: Tensor, hidden: Tensor, cell: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        embedded = self.dropout(self.embedding(token.unsqueeze(0)))
        output, (hidden, cell) = self.rnn(embedded, (hidden, cell))
        return self.fc_out(output.squeeze(0)), hidden, cell


class ReferenceSeq2Seq(nn.Module):
    """The tutorial's seq2seq, time-major, decoded in a Python loop (see the module docstring)."""

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        emb_dim: int = 256,
        hid_dim: int = 512,
        n_layers: int = 2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.encoder = ReferenceEncoder(src_vocab_size, emb_dim, hid_dim, n_layers, dropout)
        self.decoder = ReferenceDecoder(tgt_vocab_size, emb_dim, hid_dim, n_layers, dropout)
        for p in self.parameters():  # the tutorial's init
            nn.init.uniform_(p, -0.08, 0.08)

    def forward(self, src: Tensor, trg: Tensor, teacher_forcing_ratio: float = 0.5) -> Tensor:
        trg_len, batch = trg.shape
        outputs = torch.zeros(trg_len, batch, self.decoder.fc_out.out_features, device=src.device)
        hidden, cell = self.encoder(src)
        token = trg[0]
        for t in range(1, trg_len):
            output, hidden, cell = self.decoder(token, hidden, cell)
            outputs[t] = output
            teacher_force = random.random() < teacher_forcing_ratio
            token = trg[t] if teacher_force else output.argmax(1)
        return outputs
