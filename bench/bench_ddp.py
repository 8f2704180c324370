"""Training throughput of one process against two DistributedDataParallel processes (gloo) on
this machine's CPU, with the CPU sizes of ``params.yaml`` (model and train sections).

    python bench/bench_ddp.py [--pairs N] [--steps N] [--warmup N] [--rounds N]

Every configuration runs in fresh processes on the same real Gigaword pairs and the same
length-bucketed batches of ``train.batch_tokens``:

(a) one process, one thread: the per-core baseline;
(b) one process, one thread per core (torch's default): what `summarizer train` does today;
(c) two processes of one thread each, each taking every other batch (``train.nproc: 2``).

Prints target tokens per second of each (all ranks' tokens over rank 0's wall time) and the
scaling efficiency c / (2 a). On a 2-core machine the two processes share the two cores that
(b) already uses, so (c) can only beat (b) by what the gloo all-reduce of every step costs less
than the intra-op threading it replaces; the number that carries to several GPUs is c / 2a.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp

from dataset_paths import GIGAWORD
from summarizer.batching import EncodedPairs, collate
from summarizer.config.data import TokenizeParams, VocabParams
from summarizer.config.params import load_params
from summarizer.data.tokenization import TextProcessor
from summarizer.data.vocab import Vocab
from summarizer.training import build_trainer, distributed, model_config

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 10_000


def load_pairs(count: int, copy: bool) -> tuple[EncodedPairs, int, int]:
    articles = (GIGAWORD / "train.article.txt").read_text().splitlines()[:count]
    titles = (GIGAWORD / "train.title.txt").read_text().splitlines()[:count]
    processor = TextProcessor(TokenizeParams())
    sources, targets = processor.tokenize_source(articles), processor.tokenize_target(titles)
    # One vocabulary for both sides, as params.yaml's shared embeddings need.
    vocab = Vocab.build(sources + targets, VocabParams(min_freq=1, max_size=VOCAB))
    pairs = EncodedPairs.from_tokens(sources, targets, vocab, vocab, extended=copy)
    return pairs, len(vocab), len(vocab)


def measure(
    rank: int, world: int, port: int, threads: int, data: tuple, steps: int, warmup: int, out: str
) -> None:
    """Time ``steps`` optimizer steps after ``warmup`` as rank ``rank`` of ``world``."""
    if world > 1:
        os.environ.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world),
        )
    pairs, src_size, tgt_size = data
    params = load_params(ROOT / "params.yaml")
    train = params.train.model_copy(update={"device": "cpu", "threads": threads})
    torch.set_num_threads(threads)
    trainer = build_trainer(train, model_config(params.model, src_size, tgt_size))
    batches = trainer.epoch_batches(pairs, 0)
    if len(batches) < warmup + steps:
        raise SystemExit(f"{len(batches)} batches per rank: fewer than {warmup + steps} steps")
    tokens = 0
    for index, indices in enumerate(batches[: warmup + steps]):
        if index == warmup:
            distributed.all_sum(0.0, device=trainer.device)  # a barrier: start the clock together
            started = time.perf_counter()
        _, step_tokens = trainer.train_step([collate(pairs, indices)], 1.0)
        if index >= warmup:
            tokens += step_tokens  # every rank's tokens: train_step reduces them
    distributed.all_sum(0.0, device=trainer.device)
    seconds = time.perf_counter() - started
    if distributed.is_main():
        Path(out).write_text(json.dumps({"tokens": tokens, "seconds": seconds}))
    distributed.teardown()


def run(world: int, threads: int, data: tuple, steps: int, warmup: int) -> float:
    """Target tokens per second of ``world`` fresh processes of ``threads`` threads each."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "result.json")
        args = (world, port, threads, data, steps, warmup, out)
        mp.spawn(measure, args=args, nprocs=world, join=True)
        result = json.loads(Path(out).read_text())
    return result["tokens"] / result["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=6000)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per rank")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    params = load_params(ROOT / "params.yaml")
    data = load_pairs(args.pairs, params.model.copy)
    cores = os.cpu_count() or 1
    print(
        f"{len(data[0])} Gigaword pairs, model {params.model.emb_dim}/{params.model.hidden_dim} "
        f"copy={params.model.copy} coverage={params.model.coverage}, batch_tokens "
        f"{params.train.batch_tokens}, {args.steps} timed steps per rank, {cores} cores",
        flush=True,
    )
    configurations = {
        "a: 1 process x 1 thread": (1, 1),
        f"b: 1 process x {cores} threads": (1, cores),
        "c: 2 processes x 1 thread (gloo)": (2, 1),
    }
    results = dict.fromkeys(configurations, 0.0)
    # Rounds of a, b, c in turn, best of each: a load change on the machine hits all alike.
    for _ in range(args.rounds):
        for name, (world, threads) in configurations.items():
            rate = run(world, threads, data, args.steps, args.warmup)
            results[name] = max(results[name], rate)
    for name, rate in results.items():
        print(f"{name:<36} {rate:>9.0f} target tokens/s", flush=True)
    one, all_cores, two = results.values()
    print(f"scaling efficiency c / 2a: {two / (2 * one):.2f}")
    print(f"c / b (two processes against one using every core): {two / all_cores:.2f}")


if __name__ == "__main__":
    sys.exit(main())
