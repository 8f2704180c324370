"""A training step scores only the target positions its loss reads (issue 13): the same loss and
gradients as scoring every position, for plain, copy and coverage models, on both decoder paths;
and length buckets that pad targets less."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from summarizer.batching import EncodedPairs, collate, token_batches
from summarizer.config.training import ModelParams
from summarizer.data.vocab import PAD_ID
from summarizer.model import Seq2Seq
from summarizer.training import Trainer, build_parts, model_config
from summarizer.training.losses import batch_loss, token_loss
from tests.unit.test_training import gigaword_pairs, make_trainer

pytestmark = pytest.mark.usefixtures("one_thread")

# Two layers each (the stacked RNNs are paths worth comparing), as the defaults were.
SIZES = {"emb_dim": 32, "hidden_dim": 48, "enc_layers": 2, "dec_layers": 2, "dropout": 0.0}
MODELS = {
    "plain": ModelParams(**SIZES),
    "copy+coverage": ModelParams(**SIZES, copy=True, coverage=True, attention="concat"),
    "tied, dot": ModelParams(**SIZES, attention="dot"),
}


class EveryPositionTrainer(Trainer):
    """The step as it was before issue 13: the model scores every target position."""

    def forward(self, batch, ratio=1.0, network=None):
        return (network or self.model)(
            batch.src, batch.src_lengths, batch.tgt_in, ratio, src_ext=batch.src_ext,
            num_oov=batch.num_oov,
        )  # fmt: skip


@pytest.fixture(scope="module")
def extended_data() -> tuple[EncodedPairs, object, object]:
    return gigaword_pairs(96, extended=True)


def padded_batch(pairs: EncodedPairs):
    """A batch of real pairs whose targets have very different lengths (much padding)."""
    lengths = np.array([len(t) for t in pairs.targets])
    indices = np.concatenate([np.argsort(lengths)[:4], np.argsort(lengths)[-4:]])
    batch = collate(pairs, indices)
    assert batch.num_target_tokens < 0.8 * batch.tgt_out.numel()
    return batch


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("stepwise", [False, True], ids=["fast path", "stepwise"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_scoring_the_loss_positions_gives_the_loss_and_gradients_of_scoring_all(
    extended_data, name: str, stepwise: bool, smoothing: float
) -> None:
    pairs, src_vocab, tgt_vocab = extended_data
    config = model_config(MODELS[name], len(src_vocab), len(tgt_vocab))
    torch.manual_seed(0)
    model = Seq2Seq(config)
    batch = padded_batch(pairs)
    weight = 0.5 if config.coverage else 0.0
    results = []
    for scored in (None, batch.scored):
        model.zero_grad()
        output = model(
            batch.src, batch.src_lengths, batch.tgt_in, force_stepwise=stepwise,
            src_ext=batch.src_ext, num_oov=batch.num_oov, scored=scored,
        )  # fmt: skip
        assert output.logits.dim() == (3 if scored is None else 2)
        loss = batch_loss(output, batch, config, smoothing, weight)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    (full, full_grads), (part, part_grads) = results
    torch.testing.assert_close(part, full, rtol=1e-5, atol=1e-5)
    for got, expected in zip(part_grads, full_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("copy", [False, True], ids=["plain", "copy+coverage"])
def test_trainer_steps_equal_the_steps_that_score_every_position(copy: bool) -> None:
    data = gigaword_pairs(120, extended=copy)
    # Dropout on: scoring fewer positions must not change the masks drawn.
    model = ModelParams(
        emb_dim=32, hidden_dim=48, enc_layers=2, dec_layers=2, dropout=0.3, copy=copy, coverage=copy
    )

    def six_steps(trainer_class: type[Trainer]) -> tuple[list[tuple[float, int]], list]:
        # Coverage from the first step: its loss is part of what must be equal.
        params = make_trainer(data, None, model, label_smoothing=0.1, coverage_from_epoch=1).params
        config = model_config(model, len(data[1]), len(data[2]))
        trainer = trainer_class(params, build_parts(params, config))
        batches = trainer.epoch_batches(data[0], 0)[:6]
        steps = [trainer.train_step([collate(data[0], idx)], 1.0) for idx in batches]
        return steps, list(trainer.model.parameters())

    ours, our_weights = six_steps(Trainer)
    before, weights_before = six_steps(EveryPositionTrainer)
    for (loss, tokens), (expected, expected_tokens) in zip(ours, before, strict=True):
        assert tokens == expected_tokens
        assert loss == pytest.approx(expected, rel=1e-5)
    for got, expected in zip(our_weights, weights_before, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_scored_logits_without_their_indices_are_a_clear_error(extended_data) -> None:
    pairs, src_vocab, tgt_vocab = extended_data
    config = model_config(MODELS["plain"], len(src_vocab), len(tgt_vocab))
    batch = padded_batch(pairs)
    output = Seq2Seq(config)(batch.src, batch.src_lengths, batch.tgt_in, scored=batch.scored)
    with pytest.raises(ValueError, match="token_loss needs their indices"):
        token_loss(output, batch.tgt_out, log_probs=False, vocab_size=config.tgt_vocab_size)


def test_batch_scored_names_the_targets_that_are_not_padding(extended_data) -> None:
    batch = padded_batch(extended_data[0])
    flat = batch.tgt_out.flatten()
    assert batch.scored.numel() == batch.num_target_tokens
    assert (flat[batch.scored] != PAD_ID).all()
    assert (flat.index_fill(0, batch.scored, PAD_ID) == PAD_ID).all()


def test_buckets_alternate_target_order_so_straddling_batches_pad_less() -> None:
    rng = np.random.default_rng(0)
    src = rng.integers(10, 40, 4000)
    tgt = rng.integers(3, 20, 4000)
    batches = token_batches(src, tgt, batch_tokens=10**9, max_batch_size=64)
    order = np.concatenate(batches)
    for length in (10, 11):  # ascending targets for the first length, descending for the next
        targets = tgt[order][src[order] == length]
        assert (np.diff(targets) >= 0).all() if length % 2 == 0 else (np.diff(targets) <= 0).all()
    # Alternation follows the lengths present: 10 and 12 without 11 still alternate.
    gap = token_batches([10, 10, 12, 12], [3, 9, 3, 9], batch_tokens=10**9, max_batch_size=64)
    assert [int(i) for i in gap[0]] == [0, 1, 3, 2]
    padded = sum(len(b) * (tgt[b].max() + 1) for b in batches)
    plain_order = np.lexsort((tgt, src))
    plain = sum(
        len(b) * (tgt[b].max() + 1)
        for b in np.array_split(plain_order, range(64, len(plain_order), 64))
    )
    assert padded < 0.97 * plain
