"""Coverage: the vector, its loss, the phase the trainer runs it in, and resume across it."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import pytest
import torch

from summarizer.batching import collate, token_batches
from summarizer.config.training import ModelParams
from summarizer.model import ATTENTION_TYPES, Seq2Seq, Seq2SeqConfig, beam_search
from summarizer.model.coverage import coverage_loss
from summarizer.training import TrainingInterrupted
from summarizer.training.losses import coverage_term
from tests.unit.test_training import gigaword_pairs, make_trainer

PAD, BOS, EOS = 0, 2, 3
V = 30
LENGTHS = [7, 3, 5]
COPY_COVERAGE = ModelParams(
    emb_dim=32, hidden_dim=48, enc_layers=1, dec_layers=1, dropout=0.1, copy=True, coverage=True
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    # A small vocabulary, so that many source words are out of it and get copied.
    return gigaword_pairs(120, max_size=300, extended=True)


def coverage_model(seed: int = 0, trained: bool = True, **overrides: object) -> Seq2Seq:
    """An untrained model with large weights; ``trained``: coverage terms nonzero too."""
    values: dict[str, object] = dict(
        src_vocab_size=V,
        tgt_vocab_size=V,
        emb_dim=16,
        hidden_dim=24,
        enc_layers=2,  # as before the defaults became params.yaml's (one layer, dropout 0.2)
        dec_layers=2,
        dropout=0.3,
        coverage=True,
    )
    values.update(overrides)
    torch.manual_seed(seed)
    model = Seq2Seq(Seq2SeqConfig(**values))  # type: ignore[arg-type]
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)
        if not trained:
            for p in model.coverage_parameters():
                p.zero_()
    return model.eval()


def batch(tgt_len: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(4, V, (len(LENGTHS), max(LENGTHS)), generator=gen)
    for i, n in enumerate(LENGTHS):
        src[i, n:] = PAD
    tgt_in = torch.randint(4, V, (len(LENGTHS), tgt_len), generator=gen)
    tgt_in[:, 0] = BOS
    return src, torch.tensor(LENGTHS), tgt_in


def test_coverage_loss_is_zero_for_one_step_and_grows_with_repeated_attention() -> None:
    same_place = torch.tensor([0.0, 0.0, 1.0, 0.0]).repeat(4, 1)  # 4 steps on one word
    before = torch.cumsum(same_place, 0) - same_place
    assert coverage_loss(same_place, before).tolist() == [0.0, 1.0, 1.0, 1.0]
    moving = torch.eye(4)  # each step a new word: nothing covered is attended again
    assert coverage_loss(moving, torch.cumsum(moving, 0) - moving).tolist() == [0.0] * 4

    model = coverage_model()
    src, lengths, tgt_in = batch()
    one_step = model(src, lengths, tgt_in[:, :1])
    assert coverage_term(one_step, torch.full((3, 1), EOS)).item() == 0.0
    out = model(src, lengths, tgt_in)
    torch.testing.assert_close(out.coverage, torch.cumsum(out.attention, 1) - out.attention)
    per_step = coverage_loss(out.attention, out.coverage)
    assert (per_step[:, 1:] > 0).all()
    assert (per_step.cumsum(1).diff(dim=1) > 0).all()  # the summed loss grows every step


@pytest.mark.parametrize("attention", [a for a in ATTENTION_TYPES if a != "none"])
def test_untrained_coverage_changes_nothing_and_trained_coverage_does(attention: str) -> None:
    fresh = Seq2Seq(Seq2SeqConfig(src_vocab_size=V, tgt_vocab_size=V, coverage=True))
    assert fresh.coverage_parameters()
    assert all((p == 0).all() for p in fresh.coverage_parameters())  # initialised at zero
    model = coverage_model(attention=attention, trained=False)
    plain = Seq2Seq(Seq2SeqConfig(**{**model.config.to_dict(), "coverage": False})).eval()
    extra = plain.load_state_dict(model.state_dict(), strict=False).unexpected_keys
    assert extra and all("coverage" in key for key in extra)
    src, lengths, tgt_in = batch()
    with torch.no_grad():
        ref = plain(src, lengths, tgt_in)
        torch.testing.assert_close(ref.logits, model(src, lengths, tgt_in).logits)
        for p in model.coverage_parameters():
            p.uniform_(-0.5, 0.5)
        out = model(src, lengths, tgt_in)
    torch.testing.assert_close(out.attention[:, 0], ref.attention[:, 0])  # nothing covered yet
    assert not torch.allclose(out.attention[:, 1:], ref.attention[:, 1:])


@pytest.mark.parametrize("attention", ["general", "bahdanau"])
def test_beams_carry_their_own_coverage(attention: str) -> None:
    """Each hypothesis's score is what the teacher-forced model gives it: the coverage of every
    beam follows its beam when beams are reordered and examples dropped."""
    model = coverage_model(attention=attention)
    src, lengths, _ = batch()
    unconstrained = dict(
        min_length=0, no_repeat_ngram_size=0, length_penalty="none", alpha=0.0, coverage_penalty=0.0
    )
    hyps = beam_search(model, src, lengths, beam_size=4, max_length=6, **unconstrained)
    for i, hyp in enumerate(hyps):
        n = int(lengths[i])
        gold = torch.tensor([[*hyp.token_ids, EOS]])
        with torch.no_grad():
            out = model(
                src[i : i + 1, :n], lengths[i : i + 1], torch.tensor([[BOS, *hyp.token_ids]])
            )
        expected = torch.log_softmax(out.logits, -1).gather(-1, gold[..., None]).sum().item()
        assert hyp.score == pytest.approx(expected, abs=1e-4)


def test_phase_keeps_coverage_frozen_at_zero_until_its_epoch(data, tmp_path: Path) -> None:
    trainer = make_trainer(data, tmp_path, COPY_COVERAGE, coverage_from_epoch=2, max_epochs=2)
    assert not trainer.in_coverage_phase(0) and trainer.in_coverage_phase(1)
    snapshots = []

    def on_epoch_end(_) -> None:
        snapshots.append([p.detach().clone() for p in trainer.model.coverage_parameters()])

    trainer.fit(data[0], data[0].subset(30), on_epoch_end=on_epoch_end)
    assert all((p == 0).all() for p in snapshots[0])
    assert all((p != 0).any() for p in snapshots[1])


def test_early_stopping_waits_for_the_coverage_phase(data, tmp_path: Path) -> None:
    frozen = dict(lr=1e-9, scheduler="constant", early_stopping_patience=1, max_epochs=3)
    plain = make_trainer(
        data,
        tmp_path / "plain",
        ModelParams(**{**COPY_COVERAGE.model_dump(), "coverage": False}),
        **frozen,
    )
    assert len(plain.fit(data[0], data[0].subset(20)).history) == 2  # stopped early
    covered = make_trainer(
        data, tmp_path / "covered", COPY_COVERAGE, coverage_from_epoch=3, **frozen
    )
    assert len(covered.fit(data[0], data[0].subset(20)).history) == 3


@pytest.mark.parametrize("epoch", [1, 2])
def test_resume_with_copy_and_coverage_ends_with_identical_weights(
    data, tmp_path: Path, epoch: int
) -> None:
    settings = dict(coverage_from_epoch=2, max_epochs=2, label_smoothing=0.1)
    validation = data[0].subset(30)
    reference = make_trainer(data, tmp_path / "uninterrupted", COPY_COVERAGE, **settings)
    reference.fit(data[0], validation)
    steps = reference.steps_per_epoch(data[0])
    stop_at = 3 if epoch == 1 else steps + 3  # before the phase, or inside it

    interrupted = make_trainer(data, tmp_path / "resumed", COPY_COVERAGE, **settings)

    def send_signal(step: int) -> None:
        if step == stop_at:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted):
        interrupted.fit(data[0], validation, on_step_end=send_signal)
    assert interrupted.progress.epoch == epoch - 1
    assert interrupted.in_coverage_phase(interrupted.progress.epoch) == (epoch == 2)

    resumed = make_trainer(data, tmp_path / "resumed", COPY_COVERAGE, **settings)
    progress = resumed.fit(data[0], validation)
    assert progress.finished and progress.global_step == reference.progress.global_step
    for name, tensor in reference.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    assert [r["val_loss"] for r in progress.history] == [
        r["val_loss"] for r in reference.progress.history
    ]


def test_validation_nll_is_the_loss_without_coverage_and_below_it_with(
    data, tmp_path: Path
) -> None:
    validation = data[0].subset(30)
    without = ModelParams(**{**COPY_COVERAGE.model_dump(), "coverage": False})
    plain = make_trainer(data, tmp_path / "plain", without, max_epochs=1)
    (record,) = plain.fit(data[0], validation).history
    assert record["val_nll"] == pytest.approx(record["val_loss"], rel=1e-6)
    assert record["val_perplexity"] == pytest.approx(math.exp(record["val_nll"]))

    # Epoch 1 before the phase, epoch 2 in it: the objective carries the coverage loss in both
    # (so early stopping compares like with like), the NLL never does.
    covered = make_trainer(
        data, tmp_path / "covered", COPY_COVERAGE, coverage_from_epoch=2, max_epochs=2
    )
    history = covered.fit(data[0], validation).history
    weight = covered.params.coverage_weight
    for record in history:
        assert record["val_nll"] < record["val_loss"]
        assert record["val_perplexity"] == pytest.approx(math.exp(record["val_nll"]))
    # The gap is exactly the weighted coverage loss of the final weights, per target token.
    coverage_sum = tokens = 0.0
    with torch.inference_mode():
        for indices in token_batches(
            [len(s) for s in validation.sources],
            [len(t) for t in validation.targets],
            batch_tokens=10_000,
            max_batch_size=1_000,
        ):
            batch = collate(validation, indices)
            coverage_sum += coverage_term(covered.forward(batch), batch.tgt_ext).item()
            tokens += batch.num_target_tokens
    last = history[-1]
    assert last["val_loss"] - last["val_nll"] == pytest.approx(
        weight * coverage_sum / tokens, rel=1e-4
    )
