"""Behaviour of the pure-torch model: shapes, masking, fast path, padding, tying, overfitting."""

from __future__ import annotations

import dataclasses
import io
import json
import time

import pytest
import torch
import torch.nn.functional as F

from summarizer.config.choices import NO_ATTENTION
from summarizer.model import (
    ATTENTION_TYPES,
    RNN_TYPES,
    Seq2Seq,
    Seq2SeqConfig,
    make_attention,
    masked_softmax,
)

PAD, BOS, EOS = 0, 2, 3
SRC_V, TGT_V = 40, 30


def small_config(**overrides: object) -> Seq2SeqConfig:
    values: dict[str, object] = dict(
        src_vocab_size=SRC_V,
        tgt_vocab_size=TGT_V,
        emb_dim=16,
        hidden_dim=24,
        enc_layers=2,
        dec_layers=2,
        dropout=0.0,
    )
    values.update(overrides)
    return Seq2SeqConfig(**values)  # type: ignore[arg-type]


def make_batch(
    lengths: list[int], tgt_len: int = 6, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random right-padded sources with the given lengths and random targets (no padding)."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_V, (len(lengths), max(lengths)), generator=gen)
    for i, n in enumerate(lengths):
        src[i, n:] = PAD
    tgt_in = torch.randint(4, TGT_V, (len(lengths), tgt_len), generator=gen)
    tgt_in[:, 0] = BOS
    return src, torch.tensor(lengths), tgt_in


def model_for(cfg: Seq2SeqConfig, seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    return Seq2Seq(cfg).eval()


ALL_VARIANTS = [(rnn, attn) for rnn in RNN_TYPES for attn in ATTENTION_TYPES]
ATTENDING = [kind for kind in ATTENTION_TYPES if kind != NO_ATTENTION]


pytestmark = pytest.mark.usefixtures("one_thread")


# --- config -----------------------------------------------------------------------------------


def test_config_round_trips_through_json() -> None:
    cfg = small_config(rnn_type="gru", attention="concat", tie_embeddings=True)
    data = json.loads(json.dumps(cfg.to_dict()))
    assert Seq2SeqConfig.from_dict(data) == cfg


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rnn_type": "rnn"}, "rnn_type"),
        ({"attention": "luong"}, "attention"),
        ({"dropout": 1.0}, "dropout"),
        ({"hidden_dim": 25}, "hidden_dim"),  # odd with bidirectional
        ({"emb_dim": 0}, "emb_dim"),
        ({"dec_layers": True}, "dec_layers"),
        ({"eos_id": 2}, "distinct"),
        ({"pad_id": TGT_V}, "pad_id"),
        ({"share_src_tgt_embeddings": True}, "share_src_tgt_embeddings"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        small_config(**overrides)


def test_config_from_dict_rejects_unknown_and_missing_keys() -> None:
    data = small_config().to_dict()
    with pytest.raises(ValueError, match="hiden_dim"):
        Seq2SeqConfig.from_dict({**data, "hiden_dim": 3})
    del data["tgt_vocab_size"]
    with pytest.raises(ValueError, match="tgt_vocab_size"):
        Seq2SeqConfig.from_dict(data)


# --- attention --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ATTENDING)
def test_attention_shapes_single_step_and_all_steps(kind: str) -> None:
    torch.manual_seed(0)
    attn = make_attention(kind, 8, 8)
    memory = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool)
    keys = attn.precompute(memory)
    ctx, w = attn(torch.randn(3, 8), memory, keys, mask)
    assert ctx.shape == (3, 8) and w.shape == (3, 5)
    ctx, w = attn(torch.randn(3, 4, 8), memory, keys, mask)
    assert ctx.shape == (3, 4, 8) and w.shape == (3, 4, 5)
    assert torch.allclose(w.sum(-1), torch.ones(3, 4))
    # Padding gets exactly zero weight, not merely a small one.
    assert (w[1, :, 2:] == 0).all() and (w[2, :, 4:] == 0).all()


@pytest.mark.parametrize("kind", ATTENDING)
def test_all_steps_attention_equals_step_by_step(kind: str) -> None:
    torch.manual_seed(0)
    attn = make_attention(kind, 8, 8)
    memory, query = torch.randn(2, 5, 8), torch.randn(2, 4, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    keys = attn.precompute(memory)
    ctx, w = attn(query, memory, keys, mask)
    for t in range(4):
        ctx_t, w_t = attn(query[:, t], memory, keys, mask)
        torch.testing.assert_close(ctx_t, ctx[:, t])
        torch.testing.assert_close(w_t, w[:, t])


def test_masked_softmax_is_safe_in_low_precision() -> None:
    scores = torch.tensor([[3.0e38, 1.0, -5.0]]).to(torch.bfloat16)  # near bf16's limit
    w = masked_softmax(scores, torch.tensor([[False, True, True]]))
    assert w.dtype == torch.float32 and torch.isfinite(w).all()
    assert w[0, 0] == 0 and torch.isclose(w.sum(), torch.tensor(1.0))


# --- model ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rnn_type", "attention"), ALL_VARIANTS)
@pytest.mark.parametrize("input_feeding", [False, True])
def test_forward_shapes_and_padding_masked(
    rnn_type: str, attention: str, input_feeding: bool
) -> None:
    if attention == NO_ATTENTION and input_feeding:
        pytest.skip("input feeding reads the attention (refused: see the config tests)")
    cfg = small_config(rnn_type=rnn_type, attention=attention, input_feeding=input_feeding)
    model = model_for(cfg)
    src, lengths, tgt_in = make_batch([7, 3, 5])
    out = model(src, lengths, tgt_in)
    assert out.logits.shape == (3, 6, TGT_V)
    assert out.attention.shape == (3, 6, 7)
    assert (out.attention[1, :, 3:] == 0).all() and (out.attention[2, :, 5:] == 0).all()
    attended = 0.0 if attention == NO_ATTENTION else 1.0
    torch.testing.assert_close(out.attention.sum(-1), torch.full((3, 6), attended))


@pytest.mark.parametrize("feature", ["copy", "coverage", "input_feeding"])
def test_a_model_without_attention_refuses_what_reads_the_attention(feature: str) -> None:
    with pytest.raises(ValueError, match=rf"{feature} reads the attention.*'none'"):
        small_config(attention=NO_ATTENTION, **{feature: True})
    with pytest.raises(ValueError, match="copy and coverage read the attention"):
        small_config(attention=NO_ATTENTION, copy=True, coverage=True)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_fixed_context_decoder_sees_the_source_only_through_the_final_state(
    rnn_type: str,
) -> None:
    model = model_for(small_config(rnn_type=rnn_type, attention=NO_ATTENTION))
    assert not model.has_attention and model.decoder.combine is None
    src, lengths, tgt_in = make_batch([7, 3, 5])
    memory, state = model.encode(src, lengths)
    scrambled = dataclasses.replace(memory, memory=torch.randn_like(memory.memory))
    for path in ("forward_parallel", "forward_stepwise"):
        out = getattr(model.decoder, path)(tgt_in, state, memory)
        again = getattr(model.decoder, path)(tgt_in, state, scrambled)
        torch.testing.assert_close(out.scores, again.scores)
    # ... and the final state carries it: another source changes the outputs.
    other_src, other_lengths, _ = make_batch([7, 3, 5], seed=1)
    assert not torch.allclose(
        model(src, lengths, tgt_in).logits, model(other_src, other_lengths, tgt_in).logits
    )


@pytest.mark.parametrize(("rnn_type", "attention"), ALL_VARIANTS)
def test_fast_path_equals_stepwise_path(rnn_type: str, attention: str) -> None:
    # dropout > 0 in the config but eval mode: the paths must agree with the real layer stack.
    cfg = small_config(rnn_type=rnn_type, attention=attention, dropout=0.3, tie_embeddings=True)
    model = model_for(cfg)
    assert model.uses_fast_path(1.0) == (attention != "bahdanau")
    src, lengths, tgt_in = make_batch([7, 3, 5, 1], tgt_len=8)
    targets = torch.randint(4, TGT_V, tgt_in.shape)
    targets[0, 5:] = PAD

    def loss_and_grads(force_stepwise: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        out = model(src, lengths, tgt_in, force_stepwise=force_stepwise)
        loss = F.cross_entropy(out.logits.transpose(1, 2), targets, ignore_index=PAD)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    fast_loss, fast_grads = loss_and_grads(False)
    step_loss, step_grads = loss_and_grads(True)
    torch.testing.assert_close(fast_loss, step_loss, rtol=1e-5, atol=1e-6)
    for g_fast, g_step in zip(fast_grads, step_grads, strict=True):
        torch.testing.assert_close(g_fast, g_step, rtol=1e-4, atol=1e-6)


def test_fast_path_makes_one_recurrent_call() -> None:
    model = model_for(small_config())
    calls = []
    model.decoder.rnn.register_forward_hook(lambda *args: calls.append(1))
    src, lengths, tgt_in = make_batch([4, 2], tgt_len=9)
    model(src, lengths, tgt_in)
    assert len(calls) == 1
    model(src, lengths, tgt_in, force_stepwise=True)
    assert len(calls) == 1 + 9


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_padding_does_not_change_an_examples_result(rnn_type: str) -> None:
    model = model_for(small_config(rnn_type=rnn_type))
    src, lengths, tgt_in = make_batch([7, 3, 5])
    batched = model(src, lengths, tgt_in)
    for i, n in enumerate(lengths.tolist()):
        alone = model(src[i : i + 1, :n], lengths[i : i + 1], tgt_in[i : i + 1])
        torch.testing.assert_close(alone.logits[0], batched.logits[i], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(
            alone.attention[0], batched.attention[i, :, :n], rtol=1e-4, atol=1e-6
        )


def test_zero_length_source_is_a_clear_error() -> None:
    model = model_for(small_config())
    src, _, tgt_in = make_batch([3, 2])
    with pytest.raises(ValueError, match="at least one token"):
        model(src, torch.tensor([3, 0]), tgt_in)
    with pytest.raises(ValueError, match="tgt_in"):
        model(src, torch.tensor([3, 2]), tgt_in[:, :0])
    with pytest.raises(ValueError, match="teacher_forcing_ratio"):
        model(src, torch.tensor([3, 2]), tgt_in, teacher_forcing_ratio=1.5)


def test_teacher_forcing_ratio_is_seeded_and_feeds_predictions() -> None:
    model = model_for(small_config(input_feeding=True))
    src, lengths, tgt_in = make_batch([7, 3, 5], tgt_len=8)
    torch.manual_seed(1)
    a = model(src, lengths, tgt_in, teacher_forcing_ratio=0.5).logits
    torch.manual_seed(1)
    b = model(src, lengths, tgt_in, teacher_forcing_ratio=0.5).logits
    torch.testing.assert_close(a, b)
    # Ratio 0 feeds only the model's own argmax after <bos>: the gold tokens are ignored.
    other_gold = tgt_in.clone()
    other_gold[:, 1:] = (other_gold[:, 1:] + 1 - 4) % (TGT_V - 4) + 4
    free = model(src, lengths, tgt_in, teacher_forcing_ratio=0.0).logits
    free_other = model(src, lengths, other_gold, teacher_forcing_ratio=0.0).logits
    torch.testing.assert_close(free, free_other)
    assert not torch.allclose(free, model(src, lengths, tgt_in).logits)


@pytest.mark.parametrize("emb_dim", [16, 24])
def test_tied_and_shared_embeddings(emb_dim: int) -> None:
    cfg = small_config(
        src_vocab_size=TGT_V, emb_dim=emb_dim, tie_embeddings=True, share_src_tgt_embeddings=True
    )
    model = model_for(cfg)
    assert model.decoder.output.weight is model.decoder.embedding.weight
    assert model.encoder.embedding is model.decoder.embedding
    assert (model.decoder.pre_output is None) == (emb_dim == cfg.hidden_dim)
    # Saved weights load with weights_only=True into a fresh model and give the same outputs.
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = model_for(cfg, seed=1)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert fresh.decoder.output.weight is fresh.decoder.embedding.weight
    src, lengths, tgt_in = make_batch([5, 2])
    src = src.clamp(max=TGT_V - 1)
    torch.testing.assert_close(
        model(src, lengths, tgt_in).logits, fresh(src, lengths, tgt_in).logits
    )


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
@pytest.mark.parametrize("attention", ["general", "bahdanau"])
def test_bf16_autocast_forward_and_backward(rnn_type: str, attention: str) -> None:
    model = model_for(small_config(rnn_type=rnn_type, attention=attention, dropout=0.1)).train()
    src, lengths, tgt_in = make_batch([7, 3, 5])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(src, lengths, tgt_in)
        loss = F.cross_entropy(out.logits.float().transpose(1, 2), tgt_in, ignore_index=PAD)
    loss.backward()
    assert torch.isfinite(loss)
    assert out.attention.dtype == torch.float32 and (out.attention[1, :, 3:] == 0).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_overfits_a_handful_of_pairs() -> None:
    """Made-up pairs (the trainer's tests add real data): near-zero loss in a few seconds."""
    start = time.perf_counter()
    torch.manual_seed(0)
    cfg = small_config(emb_dim=32, hidden_dim=64, dropout=0.0, input_feeding=False)
    model = Seq2Seq(cfg)
    src, lengths, _ = make_batch([9, 7, 8, 5, 6, 9, 4, 8], seed=3)
    gen = torch.Generator().manual_seed(4)
    gold = torch.randint(4, TGT_V, (8, 6), generator=gen)
    gold[:, -1] = EOS
    tgt_in = torch.cat([torch.full((8, 1), BOS), gold[:, :-1]], dim=1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(300):
        out = model(src, lengths, tgt_in)
        loss = F.cross_entropy(out.logits.transpose(1, 2), gold)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.01:
            break
    assert loss.item() < 0.05
    assert time.perf_counter() - start < 20
