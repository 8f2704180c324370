"""Training as several processes (DistributedDataParallel, gloo on the CPU) on a small real
Gigaword slice: N ranks with batch B take the steps of one process accumulating N batches,
rank 0 alone writes, and a run stopped by a signal on one rank resumes to the same weights."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from summarizer.batching import EncodedPairs, rank_share, token_batches
from summarizer.config.training import ModelParams, TrainParams
from summarizer.training import (
    CheckpointStore,
    Trainer,
    TrainingInterrupted,
    build_trainer,
    distributed,
    model_config,
)

# Copy and coverage from epoch 2: the coverage parameters sit out the first epoch's steps, the
# case DistributedDataParallel must be told about (find_unused_parameters).
MODEL = ModelParams(
    emb_dim=24, hidden_dim=32, enc_layers=1, dec_layers=1, dropout=0.0, copy=True, coverage=True
)
SETTINGS: dict[str, Any] = dict(
    device="cpu",
    max_epochs=2,
    batch_tokens=500,
    max_batch_size=16,
    warmup_steps=3,
    checkpoint_every_steps=0,
    early_stopping_patience=5,
    coverage_from_epoch=2,
    seed=3,
    threads=1,
)
PAIRS = 120
WRITE_EVENTS = ("os.rename", "os.remove", "os.mkdir", "shutil.rmtree")  # audit events


@pytest.fixture(scope="module")
def data() -> tuple[EncodedPairs, EncodedPairs, int, int]:
    """Train and validation pairs of real Gigaword text, and the two vocabulary sizes."""
    from summarizer.config.data import TokenizeParams, VocabParams
    from summarizer.data.tokenization import TextProcessor
    from summarizer.data.vocab import Vocab
    from tests.conftest import DATASETS

    root = DATASETS / "gigaword"
    with open(root / "train.article.txt") as docs, open(root / "train.title.txt") as titles:
        documents = [next(docs) for _ in range(PAIRS)]
        summaries = [next(titles) for _ in range(PAIRS)]
    processor = TextProcessor(TokenizeParams(max_source_len=30, max_target_len=12))
    sources = processor.tokenize_source(documents)
    targets = processor.tokenize_target(summaries)
    vocab = VocabParams(min_freq=1, max_size=1500)
    src_vocab, tgt_vocab = Vocab.build(sources, vocab), Vocab.build(targets, vocab)
    pairs = EncodedPairs.from_tokens(sources, targets, src_vocab, tgt_vocab, extended=True)
    return pairs, pairs.subset(40), len(src_vocab), len(tgt_vocab)


# ------------------------------------------------------------------------------- no processes
def test_rank_shares_are_disjoint_and_each_step_is_the_single_process_group() -> None:
    rng = np.random.default_rng(0)
    batches = token_batches(
        rng.integers(1, 40, 300), rng.integers(1, 12, 300), batch_tokens=300, max_batch_size=16
    )
    assert len(batches) % 3 != 0  # there is a tail to drop
    shares = [rank_share(batches, rank, 3) for rank in range(3)]
    assert len({len(share) for share in shares}) == 1  # ranks step together
    whole = len(shares[0]) * 3
    for k in range(len(shares[0])):  # step k of 3 ranks = batches 3k..3k+2 of one process
        for rank in range(3):
            assert shares[rank][k] is batches[3 * k + rank]
    taken = np.concatenate([np.concatenate(share) for share in shares])
    assert sorted(taken.tolist()) == sorted(np.concatenate(batches[:whole]).tolist())
    assert rank_share(batches, 0, 1) == batches


def test_one_process_needs_no_process_group() -> None:
    assert not distributed.launched() and distributed.world_size() == 1
    assert distributed.all_sum(1.5, 7, device=torch.device("cpu")) == (1.5, 7)
    assert distributed.any_signal([signal.SIGTERM], torch.device("cpu")) == signal.SIGTERM
    assert distributed.any_signal([], torch.device("cpu")) == 0
    assert distributed.all_gather({"a": 1}) == [{"a": 1}]
    assert distributed.torchrun_command(2, ["train"])[-1] == "train"


# ---------------------------------------------------------------------------- two processes
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(
    rank: int,
    world: int,
    port: int,
    data: tuple[EncodedPairs, EncodedPairs, int, int],
    settings: dict[str, Any],
    model: ModelParams,
    store_dir: str,
    out: str,
    signal_at_step: int,
) -> None:
    """One rank, as torchrun would start it: the environment it sets, then a plain fit."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    writes: list[str] = []

    def audit(event: str, args: tuple) -> None:
        # Every file this rank creates, writes, renames or deletes in the checkpoint folder.
        if event == "open" and str(args[0]).startswith(store_dir):
            mode, flags = args[1], args[2]
            if (mode and any(c in mode for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            ):
                writes.append(f"open {args[0]}")
        elif event in WRITE_EVENTS and str(args[0]).startswith(store_dir):
            writes.append(f"{event} {args[0]}")

    sys.addaudithook(audit)
    train, validation, src_size, tgt_size = data
    trainer = build_trainer(
        TrainParams(**settings),
        model_config(model, src_size, tgt_size),
        CheckpointStore(Path(store_dir)),
        reporter=distributed.reporter(),
    )

    def on_step_end(step: int) -> None:
        if rank == world - 1 and step == signal_at_step:  # one rank only: it must stop all
            os.kill(os.getpid(), signal.SIGTERM)

    interrupted = 0
    try:
        trainer.fit(train, validation, on_step_end=on_step_end)
    except TrainingInterrupted as stopped:
        interrupted = stopped.signum
    finally:
        distributed.teardown()
    torch.save(
        {
            "model": trainer.model.state_dict(),
            "history": trainer.progress.history,
            "global_step": trainer.progress.global_step,
            "interrupted": interrupted,
            "writes": writes,
        },
        Path(out) / f"rank{rank}.pt",
    )


def run_ranks(
    tmp: Path,
    data: tuple,
    store_dir: Path,
    settings: dict[str, Any],
    model: ModelParams = MODEL,
    world: int = 2,
    signal_at_step: int = 0,
) -> list[dict[str, Any]]:
    """Fit with ``world`` gloo processes; what each rank ended with, by rank."""
    out = tmp / f"out-{len(list(tmp.glob('out-*')))}"
    out.mkdir()
    args = (world, free_port(), data, settings, model, str(store_dir), str(out), signal_at_step)
    mp.spawn(_worker, args=args, nprocs=world, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(world)]


def single_process(data: tuple, settings: dict[str, Any], store_dir: Path | None) -> Trainer:
    train, validation, src_size, tgt_size = data
    store = CheckpointStore(store_dir) if store_dir is not None else None
    trainer = build_trainer(TrainParams(**settings), model_config(MODEL, src_size, tgt_size), store)
    trainer.fit(train, validation)
    return trainer


@pytest.mark.slow
def test_two_ranks_with_batch_b_train_as_one_process_with_two_batches_per_step(
    data, tmp_path: Path, one_thread: None
) -> None:
    reference = single_process(data, {**SETTINGS, "grad_accum_steps": 2}, None)
    batches = reference.epoch_batches(data[0], 0)
    # An even count: the 2 ranks drop no tail batch, so both runs see the same examples.
    assert len(batches) % 2 == 0, f"{len(batches)} batches: pick another PAIRS"

    ranks = run_ranks(tmp_path, data, tmp_path / "checkpoints", SETTINGS)

    assert [r["global_step"] for r in ranks] == [reference.progress.global_step] * 2
    assert reference.progress.global_step == len(batches)  # 2 epochs of len/2 steps
    # the ranks hold one model
    for name, tensor in ranks[0]["model"].items():
        assert torch.equal(tensor, ranks[1]["model"][name]), name
    # ... the one the single process trained
    worst = max(
        (tensor - ranks[0]["model"][name]).abs().max().item()
        for name, tensor in reference.model.state_dict().items()
    )
    assert worst < 1e-5, worst
    for key in ("train_loss", "val_loss", "val_nll"):
        ddp = [r[key] for r in ranks[0]["history"]]
        one = [r[key] for r in reference.progress.history]
        assert ddp == pytest.approx(one, rel=1e-6), key
        assert [r[key] for r in ranks[1]["history"]] == ddp  # reduced: every rank agrees
    print(
        "\n2 ranks x B vs 1 process x 2B: train_loss "
        f"{ranks[0]['history'][-1]['train_loss']!r} vs "
        f"{reference.progress.history[-1]['train_loss']!r}, val_loss "
        f"{ranks[0]['history'][-1]['val_loss']!r} vs "
        f"{reference.progress.history[-1]['val_loss']!r}, largest weight difference {worst:.3g}"
    )
    # rank 0 alone wrote the checkpoints
    assert ranks[1]["writes"] == []
    assert any("best.pt" in w for w in ranks[0]["writes"])
    assert {p.name for p in (tmp_path / "checkpoints").iterdir()} == {"last.pt", "best.pt"}


@pytest.mark.slow
def test_a_signal_on_one_rank_stops_both_and_the_rerun_ends_with_identical_weights(
    data, tmp_path: Path
) -> None:
    # Dropout on: a resumed rank must continue its own generator, not rank 0's.
    model = MODEL.model_copy(update={"dropout": 0.1})
    settings = {**SETTINGS, "checkpoint_every_steps": 2}
    uninterrupted = run_ranks(tmp_path, data, tmp_path / "uninterrupted", settings, model)

    stopped = run_ranks(tmp_path, data, tmp_path / "resumed", settings, model, signal_at_step=3)
    assert [r["interrupted"] for r in stopped] == [signal.SIGTERM] * 2
    assert [r["global_step"] for r in stopped] == [3, 3]

    resumed = run_ranks(tmp_path, data, tmp_path / "resumed", settings, model)
    assert resumed[0]["global_step"] == uninterrupted[0]["global_step"]
    for rank in range(2):
        for name, tensor in uninterrupted[rank]["model"].items():
            assert torch.equal(tensor, resumed[rank]["model"][name]), (rank, name)
    assert [r["val_loss"] for r in resumed[0]["history"]] == [
        r["val_loss"] for r in uninterrupted[0]["history"]
    ]
