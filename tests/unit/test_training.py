"""The trainer on small real Gigaword slices: batching, resume exactness, signals, devices."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from summarizer.batching import EncodedPairs, collate, token_batches
from summarizer.config.data import TokenizeParams, VocabParams
from summarizer.config.training import ModelParams, TrainParams
from summarizer.data.tokenization import TextProcessor
from summarizer.data.vocab import Vocab
from summarizer.model.rnn import cpu_has_native_bf16, run_rnn
from summarizer.stages.train import log_to_run
from summarizer.training import (
    CheckpointStore,
    DeviceError,
    ProgressReporter,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    build_trainer,
    load_checkpoint,
    model_config,
    select_device,
)
from summarizer.training.device import precision_name, select_precision
from tests.conftest import DATASETS

TINY_MODEL = ModelParams(emb_dim=32, hidden_dim=48, enc_layers=1, dec_layers=1, dropout=0.1)


def gigaword_pairs(
    count: int, max_size: int = 2000, extended: bool = False
) -> tuple[EncodedPairs, Vocab, Vocab]:
    root = DATASETS / "gigaword"
    with open(root / "train.article.txt") as docs, open(root / "train.title.txt") as titles:
        documents = [next(docs) for _ in range(count)]
        summaries = [next(titles) for _ in range(count)]
    processor = TextProcessor(TokenizeParams(max_source_len=30, max_target_len=12))
    sources = processor.tokenize_source(documents)
    targets = processor.tokenize_target(summaries)
    params = VocabParams(min_freq=1, max_size=max_size)
    src_vocab, tgt_vocab = Vocab.build(sources, params), Vocab.build(targets, params)
    pairs = EncodedPairs.from_tokens(sources, targets, src_vocab, tgt_vocab, extended)
    return pairs, src_vocab, tgt_vocab


@pytest.fixture(scope="module")
def data() -> tuple[EncodedPairs, Vocab, Vocab]:
    return gigaword_pairs(120)


def make_trainer(
    data, checkpoint_dir: Path | None, model: ModelParams = TINY_MODEL, **overrides
) -> Trainer:
    _, src_vocab, tgt_vocab = data
    settings = dict(
        device="cpu",
        max_epochs=2,
        batch_tokens=600,
        max_batch_size=16,
        warmup_steps=3,
        checkpoint_every_steps=0,
        early_stopping_patience=5,
        seed=3,
        threads=1,
        # auto would be bf16 on some CPUs and fp32 on others: each test names what it covers.
        precision="fp32",
    )
    settings.update(overrides)
    params = TrainParams(**settings)
    store = CheckpointStore(checkpoint_dir) if checkpoint_dir is not None else None
    return build_trainer(params, model_config(model, len(src_vocab), len(tgt_vocab)), store)


def test_token_batches_cover_every_example_once_within_budget() -> None:
    rng = np.random.default_rng(0)
    src = rng.integers(1, 40, size=500)
    tgt = rng.integers(1, 12, size=500)
    batches = token_batches(src, tgt, batch_tokens=400, max_batch_size=32, rng=rng)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    for batch in batches:
        padded = len(batch) * (src[batch].max() + tgt[batch].max() + 1)
        assert len(batch) == 1 or padded <= 400
        assert len(batch) <= 32
    # sorting by length keeps padding low: most of each batch is real tokens
    real = sum(int(src[b].sum() + tgt[b].sum() + len(b)) for b in batches)
    padded_total = sum(len(b) * int(src[b].max() + tgt[b].max() + 1) for b in batches)
    assert real / padded_total > 0.8  # random batches of 32 would be about 0.55


def test_collate_shifts_targets_and_pads(data) -> None:
    pairs, _, _ = data
    batch = collate(pairs, [0, 1])
    assert batch.tgt_in[:, 0].eq(2).all()  # <s>
    length = len(pairs.targets[0])
    assert batch.tgt_out[0, length].item() == 3  # </s> after the last target token
    assert torch.equal(batch.tgt_in[0, 1 : length + 1], batch.tgt_out[0, :length])
    assert batch.num_target_tokens == len(pairs.targets[0]) + len(pairs.targets[1]) + 2


def test_forced_missing_device_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(DeviceError, match=r"train\.device is 'cuda' but no CUDA device"):
        select_device("cuda")
    assert select_device("auto").type in ("cpu", "mps")


def test_cpu_bf16_is_detected_from_the_cpu_flags() -> None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo to read the CPU flags from")
    flags = set(cpuinfo.read_text().split())
    assert cpu_has_native_bf16() == bool(flags & {"avx512_bf16", "amx_tile"})


def test_auto_precision_on_the_cpu_is_bf16_only_where_the_cpu_multiplies_bf16() -> None:
    cpu = torch.device("cpu")
    native = cpu_has_native_bf16()
    assert precision_name(select_precision("auto", cpu)) == ("bf16" if native else "fp32")
    assert select_precision("fp32", cpu) is None
    assert select_precision("bf16", cpu) is torch.bfloat16
    with pytest.raises(DeviceError, match="fp16 needs a CUDA device"):
        select_precision("fp16", cpu)
    # The LSTM follows: bf16 where oneDNN's bf16 kernel exists, fp32 where it cannot be built.
    rnn = torch.nn.LSTM(8, 16, batch_first=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = run_rnn(rnn, torch.randn(2, 5, 8))
    assert out.dtype == (torch.bfloat16 if native else torch.float32)


def test_overfits_a_handful_of_real_pairs() -> None:
    pairs, src_vocab, tgt_vocab = gigaword_pairs(8, max_size=500)
    # No label smoothing: it keeps the loss of a perfect fit well above the bound below.
    params = TrainParams(
        device="cpu", lr=0.01, warmup_steps=0, scheduler="constant", seed=0, label_smoothing=0.0
    )
    config = model_config(
        ModelParams(emb_dim=64, hidden_dim=128, enc_layers=1, dec_layers=1, dropout=0.0),
        len(src_vocab),
        len(tgt_vocab),
    )
    trainer = build_trainer(params, config)  # no checkpoint store: nothing is written
    batch = collate(pairs, range(len(pairs)))
    for _ in range(150):
        loss_sum, tokens = trainer.train_step([batch], 1.0)
    assert loss_sum / tokens < 0.05


FIXED_CONTEXT = TINY_MODEL.model_copy(update={"attention": "none"})


@pytest.mark.parametrize(
    ("precision", "signum", "model"),
    [
        (precision, signum, TINY_MODEL)
        for precision in ("fp32", "bf16")
        for signum in (signal.SIGTERM, signal.SIGINT)
    ]
    + [("fp32", signal.SIGTERM, FIXED_CONTEXT)],
    ids=lambda value: getattr(value, "attention", None) or str(value),
)
def test_interrupted_run_resumes_to_identical_weights(
    data, tmp_path: Path, signum: int, precision: str, model: ModelParams
) -> None:
    reference = make_trainer(data, tmp_path / "uninterrupted", model, precision=precision)
    reference.fit(data[0], data[0].subset(30))

    interrupted = make_trainer(data, tmp_path / "resumed", model, precision=precision)

    def send_signal(step: int) -> None:
        if step == 5:  # mid-way through the first epoch
            os.kill(os.getpid(), signum)

    with pytest.raises(TrainingInterrupted) as stopped:
        interrupted.fit(data[0], data[0].subset(30), on_step_end=send_signal)
    assert stopped.value.signum == signum
    assert interrupted.checkpoints is not None and interrupted.checkpoints.last.is_file()
    assert interrupted.progress.global_step == 5

    resumed = make_trainer(data, tmp_path / "resumed", model, precision=precision)
    progress = resumed.fit(data[0], data[0].subset(30))
    assert progress.finished and progress.global_step == reference.progress.global_step
    for name, tensor in reference.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name
    assert [r["val_loss"] for r in progress.history] == [
        r["val_loss"] for r in reference.progress.history
    ]
    assert [r["train_loss"] for r in progress.history] == pytest.approx(
        [r["train_loss"] for r in reference.progress.history]
    )


def test_checkpoint_holds_full_state_and_weights_load_safely(data, tmp_path: Path) -> None:
    trainer = make_trainer(data, tmp_path, max_epochs=1)
    trainer.fit(data[0], data[0].subset(20))
    # load_checkpoint loads with weights_only=True: the whole state is tensors and plain data.
    state = load_checkpoint(tmp_path / "best.pt")["state"]
    assert {"model", "optimizer", "scheduler", "progress", "early_stopping", "rng"} <= set(state)
    torch.save(state["model"], tmp_path / "weights.pt")
    weights = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert set(weights) == set(trainer.model.state_dict())


def test_validation_loss_improves_over_epochs(data, tmp_path: Path) -> None:
    trainer = make_trainer(data, tmp_path, max_epochs=4, lr=0.005)
    progress = trainer.fit(data[0], data[0].subset(40))
    losses = [r["val_loss"] for r in progress.history]
    assert losses[-1] < losses[0]
    assert trainer.early_stopper.best_epoch >= 2
    assert trainer.early_stopper.best_value == min(losses)


def test_without_a_store_a_signal_stops_training_and_says_nothing_was_saved(
    data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    trainer = make_trainer(data, None)

    def send_signal(step: int) -> None:
        if step == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted, match="no checkpoint store") as stopped:
        trainer.fit(data[0], data[0].subset(20), on_step_end=send_signal)
    assert stopped.value.checkpoint is None and trainer.progress.global_step == 2
    assert list(tmp_path.iterdir()) == []


def test_damaged_last_checkpoint_is_set_aside_and_training_starts_afresh(
    data, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reference = make_trainer(data, tmp_path / "reference", max_epochs=1)
    reference.fit(data[0], data[0].subset(20))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    whole = (tmp_path / "reference" / "last.pt").read_bytes()
    (damaged / "last.pt").write_bytes(whole[: len(whole) // 2])

    trainer = make_trainer(data, damaged, max_epochs=1)
    progress = trainer.fit(data[0], data[0].subset(20))
    assert progress.finished and progress.global_step == reference.progress.global_step
    for name, tensor in reference.model.state_dict().items():
        assert torch.equal(tensor, trainer.model.state_dict()[name]), name
    assert (damaged / "last.pt.unusable").read_bytes() == whole[: len(whole) // 2]
    assert "damaged or truncated" in caplog.text and "starting afresh" in caplog.text


def test_a_loss_that_turns_non_finite_stops_training_at_once(data, tmp_path: Path) -> None:
    # A learning rate this large sends the weights to infinity within a few steps; the first
    # step whose loss is not finite stops training before it is applied, and says where.
    trainer = make_trainer(data, tmp_path, lr=1e30, warmup_steps=0, scheduler="constant")
    steps: list[int] = []
    with pytest.raises(TrainingDiverged) as diverged:
        trainer.fit(data[0], data[0].subset(20), on_step_end=steps.append)
    bad = trainer.progress.global_step + 1
    assert str(diverged.value).startswith(
        f"training diverged: the training loss of step {bad} (epoch 1, step {bad} of the epoch; "
        "the step was not applied) is nan, so training stopped. Lower train.lr (now 1e+30)"
    )
    assert steps == list(range(1, bad)) and not trainer.progress.history
    assert list(tmp_path.iterdir()) == []  # no checkpoint of garbage weights


def test_a_non_finite_validation_loss_stops_training(data, tmp_path: Path) -> None:
    # One step per epoch: validation is the first to see the weights a step left.
    trainer = make_trainer(
        data,
        tmp_path,
        max_epochs=20,
        lr=1e30,
        warmup_steps=0,
        scheduler="constant",
        batch_tokens=100_000,
        max_batch_size=1000,
    )
    with pytest.raises(TrainingDiverged) as diverged:
        trainer.fit(data[0], data[0].subset(20))
    epoch = len(trainer.progress.history) + 1
    assert str(diverged.value).startswith(
        f"training diverged: the validation loss of epoch {epoch} (after step {epoch}) is "
    )


def test_reporter_logs_a_line_now_and_then_when_not_on_a_terminal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    reporter = ProgressReporter(every_seconds=0.0)
    reporter.start_epoch(2, 3, steps=10, done=4)  # pytest captures stderr: no terminal
    reporter.step(5, loss=1.25, tokens_per_second=1000.0)
    reporter.close()
    assert "epoch 2: step 5/10, loss 1.250, 1000 target tokens/s" in caplog.text


def test_final_metrics_go_to_the_run_under_one_name_each() -> None:
    class FakeRun:
        def __init__(self) -> None:
            self.metrics: dict[str, float] = {}
            self.status = ""

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            self.metrics.update(metrics)

        def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
            pass

        def end(self, status: str = "FINISHED") -> None:
            self.status = status

    run = FakeRun()
    metrics = {
        "best_epoch": 2,
        "best_val_nll": 3.5,
        "tokens_per_second": 900.0,
        "train_seconds": 61.5,
        "device": "cpu",
    }
    log_to_run(run, metrics)  # type: ignore[arg-type]
    assert run.metrics == {
        "best_val_nll": 3.5,
        "train_tokens_per_second": 900.0,
        "train_seconds": 61.5,
    }
    assert run.status == "FINISHED"
