"""Pointer-generator copying: the mixture, extended ids, search, numerics, batching, training."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from summarizer.batching import (
    EncodedPairs,
    collate,
    extend_source,
    extend_target,
)
from summarizer.config.data import VocabParams
from summarizer.config.training import ModelParams, TrainParams
from summarizer.data.vocab import Vocab
from summarizer.model import (
    ATTENTION_TYPES,
    Seq2Seq,
    Seq2SeqConfig,
    Seq2SeqOutput,
    beam_search,
    greedy_search,
)
from summarizer.model.copy import LOG_FLOOR, CopySource, copy_log_probs
from summarizer.training import build_trainer, model_config
from summarizer.training.losses import token_loss

PAD, UNK, BOS, EOS = 0, 1, 2, 3
V = 30
# The searches have no option defaults of their own (DecodeParams has them): no constraint.
UNCONSTRAINED = dict(
    min_length=0, no_repeat_ngram_size=0, length_penalty="none", alpha=0.0, coverage_penalty=0.0
)
NUM_OOV = 3
LENGTHS = [7, 4, 6]

pytestmark = pytest.mark.usefixtures("one_thread")


def copy_model(seed: int = 0, scale: float = 0.5, **overrides: object) -> Seq2Seq:
    """An untrained copy model with large weights, so outputs depend on the source."""
    values: dict[str, object] = dict(
        src_vocab_size=V,
        tgt_vocab_size=V,
        emb_dim=16,
        hidden_dim=24,
        enc_layers=2,  # as before the defaults became params.yaml's (one layer)
        dec_layers=2,
        dropout=0.2,
        copy=True,
    )
    values.update(overrides)
    torch.manual_seed(seed)
    model = Seq2Seq(Seq2SeqConfig(**values))  # type: ignore[arg-type]
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-scale, scale)
    return model.eval()


def extended_sources(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(src, src_ext, lengths)``: sources with repeated words and out-of-vocabulary ids
    ``V..V+2`` (read as <unk> by the encoder)."""
    gen = torch.Generator().manual_seed(seed)
    src_ext = torch.randint(4, V + NUM_OOV, (len(LENGTHS), max(LENGTHS)), generator=gen)
    src_ext[0, 1] = src_ext[0, 4]  # a word said twice
    src_ext[1, 0] = V  # an OOV word ...
    src_ext[1, 2] = V  # ... said twice
    for i, n in enumerate(LENGTHS):
        src_ext[i, n:] = PAD
    return src_ext.masked_fill(src_ext >= V, UNK), src_ext, torch.tensor(LENGTHS)


def dense_mixture(logits, attention, switch, src_ext, num_oov):
    """The textbook formula (atulkum/pointer_summarizer) in probability space, densely."""
    p_gen = torch.sigmoid(switch)
    vocab = F.pad(p_gen * torch.softmax(logits, -1), (0, num_oov))
    index = src_ext.unsqueeze(1).expand_as(attention)
    return vocab.scatter_add(-1, index, (1 - p_gen) * attention)


def random_inputs(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    _, src_ext, lengths = extended_sources(seed)
    mask = torch.arange(src_ext.size(1)) < lengths.unsqueeze(1)
    scores = torch.randn(3, 5, src_ext.size(1), generator=gen).masked_fill(~mask.unsqueeze(1), -1e9)
    attention = torch.softmax(scores, -1).requires_grad_()
    logits = torch.randn(3, 5, V, generator=gen, requires_grad=True)
    switch = torch.randn(3, 5, 1, generator=gen, requires_grad=True)
    return logits, attention, switch, src_ext, mask


# --- the mixture ------------------------------------------------------------------------------


def test_mixture_equals_the_dense_formula_with_its_gradients() -> None:
    logits, attention, switch, src_ext, mask = random_inputs()
    source = CopySource.build(src_ext, mask, V, NUM_OOV)
    ours = copy_log_probs(logits, attention, switch, source)
    reference = dense_mixture(logits, attention, switch, src_ext, NUM_OOV)
    assert ours.shape == (3, 5, V + NUM_OOV)
    torch.testing.assert_close(ours.exp(), reference, rtol=1e-5, atol=1e-7)
    gold = torch.randint(4, V + NUM_OOV, (3, 5))
    gold[1] = V  # the repeated OOV word: its two positions' attention is summed
    grads = torch.autograd.grad(ours.gather(-1, gold[..., None]).sum(), (logits, attention, switch))
    ref_grads = torch.autograd.grad(
        reference.gather(-1, gold[..., None]).clamp_min(1e-30).log().sum(),
        (logits, attention, switch),
    )
    for g, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("single_step", [False, True], ids=["all steps", "one step"])
def test_decoding_computes_the_mixture_in_place_with_the_same_values(single_step: bool) -> None:
    logits, attention, switch, src_ext, mask = random_inputs()
    if single_step:  # what beam search passes: [rows, V]
        logits, attention, switch = logits[:, 0], attention[:, 0], switch[:, 0]
    source = CopySource.build(src_ext, mask, V, NUM_OOV)
    training = copy_log_probs(logits, attention, switch, source)
    assert training.requires_grad
    with torch.inference_mode():
        decoding = copy_log_probs(logits, attention, switch, source)
    assert torch.equal(decoding, training.detach())


def test_pgen_zero_gives_the_attention_mass_on_source_ids() -> None:
    src, src_ext, lengths = extended_sources()
    model = copy_model()
    with torch.no_grad():  # p_gen = sigmoid(-1e4) = 0
        model.decoder.copy.switch.weight.zero_()
        model.decoder.copy.switch.bias.fill_(-1e4)
    tgt_in = torch.randint(4, V, (3, 5))
    tgt_in[:, 0] = BOS
    out = model(src, lengths, tgt_in, src_ext=src_ext, num_oov=NUM_OOV)
    index = src_ext.unsqueeze(1).expand_as(out.attention)
    on_source = torch.zeros(3, 5, V + NUM_OOV).scatter_add(-1, index, out.attention)
    torch.testing.assert_close(out.logits.exp(), on_source, rtol=1e-5, atol=1e-7)
    assert out.logits[1, :, V].exp().sum() > 0  # the OOV word can be written


def test_pgen_one_gives_the_vocabulary_distribution() -> None:
    logits, attention, _, src_ext, mask = random_inputs()
    switch = torch.full((3, 5, 1), 1e4)
    out = copy_log_probs(logits, attention, switch, CopySource.build(src_ext, mask, V, NUM_OOV))
    torch.testing.assert_close(out[..., :V], torch.log_softmax(logits, -1))
    assert (out[..., V:] <= LOG_FLOOR + 1e-3).all()


def test_mixture_is_float32_finite_and_never_logs_zero_under_bf16_autocast() -> None:
    model = copy_model(coverage=True).train()
    src, src_ext, lengths = extended_sources()
    tgt_in = torch.randint(4, V, (3, 5))
    tgt_in[:, 0] = BOS
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(src, lengths, tgt_in, src_ext=src_ext, num_oov=NUM_OOV)
        # Targets include OOV ids no example has (row 0 has none): floored, not -inf.
        gold = torch.full((3, 5), V + NUM_OOV - 1)
        loss = token_loss(out, gold, log_probs=True, vocab_size=V, label_smoothing=0.1)
    assert out.logits.dtype == torch.float32 and torch.isfinite(out.logits).all()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_label_smoothing_spreads_over_the_fixed_vocabulary_only() -> None:
    logits, attention, switch, src_ext, mask = random_inputs()
    out = copy_log_probs(logits, attention, switch, CopySource.build(src_ext, mask, V, NUM_OOV))
    output = Seq2SeqOutput(out, attention)
    gold = torch.randint(4, V + NUM_OOV, (3, 5))
    gold[2, 3:] = PAD
    keep = gold != PAD
    nll = -out.gather(-1, gold[..., None]).squeeze(-1)[keep].sum()
    uniform = -out[..., :V].mean(-1)[keep].sum()
    smoothed = token_loss(output, gold, log_probs=True, vocab_size=V, label_smoothing=0.2)
    torch.testing.assert_close(smoothed, 0.8 * nll + 0.2 * uniform)
    # Without copy it is PyTorch's own label smoothing.
    plain = Seq2SeqOutput(logits, attention)
    target = gold.clamp(max=V - 1)
    torch.testing.assert_close(
        token_loss(plain, target, log_probs=False, vocab_size=V, label_smoothing=0.2),
        F.cross_entropy(
            logits.flatten(0, 1),
            target.flatten(),
            ignore_index=PAD,
            label_smoothing=0.2,
            reduction="sum",
        ),
    )


# --- the model ----------------------------------------------------------------------------------


@pytest.mark.parametrize("attention", [a for a in ATTENTION_TYPES if a not in ("bahdanau", "none")])
@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_fast_path_equals_stepwise_with_copy_and_coverage(rnn_type: str, attention: str) -> None:
    model = copy_model(rnn_type=rnn_type, attention=attention, coverage=True, dropout=0.3)
    assert model.uses_fast_path(1.0)
    src, src_ext, lengths = extended_sources()
    tgt_in = torch.randint(4, V + NUM_OOV, (3, 6))  # extended ids are fed as <unk>
    tgt_in[:, 0] = BOS
    gold = torch.randint(4, V + NUM_OOV, (3, 6))
    gold[1, 4:] = PAD

    def loss_and_grads(force_stepwise: bool):
        model.zero_grad()
        out = model(
            src, lengths, tgt_in, force_stepwise=force_stepwise, src_ext=src_ext, num_oov=NUM_OOV
        )
        loss = F.nll_loss(out.logits.transpose(1, 2), gold, ignore_index=PAD)
        loss = loss + out.coverage.sum()
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        return loss.detach(), out, grads

    fast_loss, fast, fast_grads = loss_and_grads(False)
    step_loss, step, step_grads = loss_and_grads(True)
    torch.testing.assert_close(fast_loss, step_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast.logits, step.logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast.coverage, step.coverage, rtol=1e-5, atol=1e-6)
    for g_fast, g_step in zip(fast_grads, step_grads, strict=True):
        torch.testing.assert_close(g_fast, g_step, rtol=1e-4, atol=1e-5)


def test_extended_ids_never_reach_an_embedding_lookup() -> None:
    model = copy_model()
    seen: list[int] = []
    for emb in (model.encoder.embedding, model.decoder.embedding):
        emb.register_forward_pre_hook(lambda _, args: seen.append(int(args[0].max())))
    with torch.no_grad():  # copying only: every generated token is a source word, OOVs too
        model.decoder.copy.switch.bias.fill_(-1e4)
    src, src_ext, lengths = extended_sources()
    tgt_in = torch.full((3, 4), V + 1)
    tgt_in[:, 0] = BOS
    model(src, lengths, tgt_in, src_ext=src_ext, num_oov=NUM_OOV)
    model(src, lengths, tgt_in, teacher_forcing_ratio=0.0, src_ext=src_ext, num_oov=NUM_OOV)
    options = {**UNCONSTRAINED, "max_length": 6}
    hyps = greedy_search(model, src, lengths, src_ext=src_ext, num_oov=NUM_OOV, **options)
    beams = beam_search(model, src, lengths, beam_size=3, src_ext=src_ext, **options)
    assert any(t >= V for h in hyps + beams for t in h.token_ids)  # OOVs were fed back
    assert seen and max(seen) < V


def test_an_out_of_vocabulary_source_word_is_written_and_maps_back() -> None:
    vocab = Vocab(["<pad>", "<unk>", "<s>", "</s>", "the", "a"], [0] * 6)
    tokens = ["the", "zanzibar", "a", "quokka", "zanzibar"]
    ids, oovs = extend_source(tokens, vocab)
    assert ids == [4, 6, 5, 7, 6] and oovs == ["zanzibar", "quokka"]
    model = copy_model(src_vocab_size=6, tgt_vocab_size=6)
    with torch.no_grad():
        model.decoder.copy.switch.bias.fill_(-1e4)
    src_ext = torch.tensor([ids])
    src = src_ext.masked_fill(src_ext >= 6, UNK)
    options = {**UNCONSTRAINED, "max_length": 4, "min_length": 4}
    for search in (greedy_search, functools.partial(beam_search, beam_size=5)):
        (hyp,) = search(model, src, torch.tensor([5]), src_ext=src_ext, **options)
        words = vocab.decode(hyp.token_ids, oovs)
        assert len(words) == 4 and set(words) <= set(tokens)
        assert {"zanzibar", "quokka"} & set(words)


@pytest.mark.parametrize("ngram", [0, 2])
def test_beam_one_equals_greedy_with_copy_and_coverage(ngram: int) -> None:
    model = copy_model(coverage=True, attention="concat")
    with torch.no_grad():
        for p in model.coverage_parameters():
            p.uniform_(-0.5, 0.5)
    src, src_ext, lengths = extended_sources()
    options = {**UNCONSTRAINED, "max_length": 8, "min_length": 2, "no_repeat_ngram_size": ngram}
    options["src_ext"] = src_ext
    greedy = greedy_search(model, src, lengths, **options)
    beam = beam_search(model, src, lengths, beam_size=1, **options)
    for g, b in zip(greedy, beam, strict=True):
        assert g.token_ids == b.token_ids
        assert g.score == pytest.approx(b.score, abs=1e-5)
        torch.testing.assert_close(g.attention, b.attention)


def test_beam_scores_are_the_teacher_forced_log_probabilities() -> None:
    """Beams reorder the copy source and the coverage with their rows, or this would fail."""
    model = copy_model(coverage=True)
    with torch.no_grad():
        for p in model.coverage_parameters():
            p.uniform_(-0.5, 0.5)
    src, src_ext, lengths = extended_sources()
    hyps = beam_search(
        model, src, lengths, beam_size=4, src_ext=src_ext, max_length=6, **UNCONSTRAINED
    )
    for i, hyp in enumerate(hyps):
        n = int(lengths[i])
        tgt_in = torch.tensor([[BOS, *hyp.token_ids]])
        gold = torch.tensor([[*hyp.token_ids, EOS]])
        with torch.no_grad():
            out = model(
                src[i : i + 1, :n], lengths[i : i + 1], tgt_in, src_ext=src_ext[i : i + 1, :n]
            )
        expected = out.logits.gather(-1, gold[..., None]).sum().item()
        assert hyp.score == pytest.approx(expected, abs=1e-4)


def test_copy_without_src_ext_needs_a_shared_vocabulary() -> None:
    src, _, lengths = extended_sources()
    tgt_in = torch.full((3, 2), BOS)
    model = copy_model()
    assert model(src, lengths, tgt_in).logits.shape == (3, 2, V)  # source ids are target ids
    with pytest.raises(ValueError, match="src_ext"):
        copy_model(src_vocab_size=V + 5)(src, lengths, tgt_in)


def test_configs_without_copy_keys_load_as_before() -> None:
    cfg = Seq2SeqConfig(src_vocab_size=V, tgt_vocab_size=V, copy=True, coverage=True)
    assert Seq2SeqConfig.from_dict(cfg.to_dict()) == cfg
    old = {k: v for k, v in cfg.to_dict().items() if k not in ("copy", "coverage")}
    loaded = Seq2SeqConfig.from_dict(old)
    assert not loaded.copy and not loaded.coverage
    names = set(Seq2Seq(loaded).state_dict())
    assert not any("copy" in n or "coverage" in n for n in names)
    with pytest.raises(ValueError, match="copy"):
        Seq2SeqConfig(src_vocab_size=V, tgt_vocab_size=V, copy="yes")  # type: ignore[arg-type]


# --- batching -----------------------------------------------------------------------------------


def test_pairs_and_batches_carry_extended_ids_from_the_target_vocabulary() -> None:
    settings = VocabParams(min_freq=1, max_size=100)
    sources = [["a", "b", "x"], [], ["y", "b", "y"]]
    targets = [["a", "x", "z"], ["a"], ["y", "q"]]
    src_vocab = Vocab.build([["a", "b", "x", "y"]], settings)  # the source knows x and y ...
    tgt_vocab = Vocab.build([["a", "b"]], settings)  # ... the target does not: they copy
    pairs = EncodedPairs.from_tokens(sources, targets, src_vocab, tgt_vocab, extended=True)
    n = len(tgt_vocab)
    assert pairs.oovs == [["x"], [], ["y"]]
    assert pairs.src_ext == [[4, 5, n], [UNK], [n, 5, n]]
    assert pairs.tgt_ext == [[4, n, UNK], [4], [n, UNK]]  # z and q are in no source: <unk>
    assert pairs.subset(2).oovs == [["x"], []]
    batch = collate(pairs, [0, 2])
    assert batch.num_oov == 1 and batch.oovs == [["x"], ["y"]]
    assert batch.src_ext.tolist() == [[4, 5, n], [n, 5, n]]
    assert batch.tgt_ext.tolist() == [[4, n, UNK, EOS], [n, UNK, EOS, PAD]]
    assert int(batch.tgt_in.max()) < n and int(batch.tgt_out.max()) < n
    assert tgt_vocab.decode([n, 4, EOS, 5], ["x"]) == ["x", "a"]
    assert extend_target(["x", "a"], tgt_vocab, ["x"]) == [n, 4]
    assert (
        collate(EncodedPairs.from_tokens(sources, targets, src_vocab, tgt_vocab), [0]).src_ext
        is None
    )


def test_trainer_refuses_a_copy_model_without_extended_ids() -> None:
    pairs = EncodedPairs([[4, 5]], [[4]])
    config = model_config(ModelParams(emb_dim=8, hidden_dim=8, copy=True), 10, 10)
    trainer = build_trainer(TrainParams(device="cpu", threads=1), config)
    with pytest.raises(ValueError, match="extended=True"):
        trainer.train_step([collate(pairs, [0])], 1.0)


def test_learns_to_copy_words_it_never_saw() -> None:
    """Targets repeat the source's first two words, drawn from far more words than the
    vocabulary holds: only copying gets them right, also for words unseen in training."""
    gen = torch.Generator().manual_seed(0)
    words = [f"w{i}" for i in range(200)]
    vocab = Vocab(["<pad>", "<unk>", "<s>", "</s>", *words[:10]], [0] * 14)

    def task(count: int, pool: range) -> EncodedPairs:
        picks = torch.randint(pool.start, pool.stop, (count, 5), generator=gen).tolist()
        sources = [[words[i] for i in row] for row in picks]
        return EncodedPairs.from_tokens(sources, [s[:2] for s in sources], vocab, vocab, True)

    train, unseen = task(64, range(0, 150)), task(16, range(150, 200))
    config = model_config(
        ModelParams(emb_dim=32, hidden_dim=64, enc_layers=1, dec_layers=1, dropout=0.0, copy=True),
        len(vocab),
        len(vocab),
    )
    params = TrainParams(device="cpu", lr=0.01, scheduler="constant", warmup_steps=0, threads=1)
    trainer = build_trainer(params, config)
    batch = collate(train, range(64))
    for _ in range(150):
        trainer.train_step([batch], 1.0)
    test = collate(unseen, range(16))
    hyps = greedy_search(
        trainer.model,
        test.src,
        test.src_lengths,
        src_ext=test.src_ext,
        max_length=4,
        **UNCONSTRAINED,
    )
    assert test.oovs is not None and unseen.src_ext is not None
    right = 0
    for hyp, oovs, source in zip(hyps, test.oovs, unseen.src_ext, strict=True):
        right += vocab.decode(hyp.token_ids, oovs) == oovs_of(source[:2], oovs)
    assert right >= 12, right


def oovs_of(ids: list[int], oovs: list[str]) -> list[str]:
    return [oovs[i - 14] for i in ids]
