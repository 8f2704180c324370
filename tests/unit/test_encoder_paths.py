"""The encoder's three ways to run a padded batch give the same memory and states."""

from __future__ import annotations

import pytest
import torch

from summarizer.model import Seq2Seq, Seq2SeqConfig
from summarizer.model import encoder as encoder_module


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_fused_per_length_groups_equal_packing(
    rnn_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    config = Seq2SeqConfig(
        src_vocab_size=50,
        tgt_vocab_size=40,
        emb_dim=8,
        hidden_dim=12,
        enc_layers=2,
        rnn_type=rnn_type,
        dropout=0.0,
    )
    model = Seq2Seq(config).eval()
    lengths = torch.tensor([7, 5, 7, 3, 5])
    src = torch.randint(4, 50, (5, 7))
    src[torch.arange(7) >= lengths.unsqueeze(1)] = 0

    grouped = model.encoder(src, lengths)
    monkeypatch.setattr(encoder_module, "MAX_LENGTH_GROUPS", 0)  # force the packed path
    packed = model.encoder(src, lengths)
    for a, b in zip(grouped, packed, strict=True):
        if a is None:
            assert b is None
        else:
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert grouped[0][3, 3:].abs().sum() == 0  # padding positions stay zero
