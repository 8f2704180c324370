"""The benchmark's tutorial baseline (``bench/reference_model.py``) is the model it claims to be."""

from __future__ import annotations

import torch
from bench.reference_model import ReferenceSeq2Seq

from tests.unit.test_model import SRC_V, TGT_V, make_batch


def test_reference_model_is_the_tutorial_baseline() -> None:
    torch.manual_seed(0)
    ref = ReferenceSeq2Seq(SRC_V, TGT_V, emb_dim=8, hid_dim=12)
    assert isinstance(ref.encoder.rnn, torch.nn.LSTM) and ref.encoder.rnn.num_layers == 2
    assert ref.decoder.fc_out.in_features == 12 and ref.decoder.fc_out.out_features == TGT_V
    src, _, tgt_in = make_batch([5, 5, 5], tgt_len=7)
    out = ref(src.t(), tgt_in.t(), teacher_forcing_ratio=0.5)
    assert out.shape == (7, 3, TGT_V)
    assert (out[0] == 0).all() and not (out[1:] == 0).all()
