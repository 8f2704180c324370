"""Does a larger batch keep this CPU busier? Training throughput of the default model (params.yaml:
copy and coverage, its precision) at several batch sizes, side by side in one run.

    python bench/bench_batch_shape.py [--steps N] [--shape TOKENS:ROWS ...] [--precision P]

Needs the tokenized Gigaword splits and vocabularies of the workspace (``dvc repro vocab``).
Every shape trains its own copy of the model from the same seed with the trainer's own step, on
``--steps`` batches spread over the epoch's batches ranked by size (the epoch's mix of lengths);
the shapes take turns, twice, and the second round is timed, so a load change on the machine hits
them alike. Prints target tokens per second per shape, its ratio to params.yaml's shape, the
steps an epoch takes, and the machine's matmul peak in the precision used (``bench_train.py``'s
measure), to say how much room a better-shaped step could have.

A larger batch means fewer optimizer steps an epoch: a throughput gain buys epochs only if the
same learning rate schedule reaches the same loss in fewer steps, which this does not measure.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

# Run as a script, this folder is on sys.path: the peak measure is bench_train.py's.
from bench_train import cpu_name, matmul_peak_gflops
from summarizer.batching import collate
from summarizer.config.params import load_params
from summarizer.stages.train import TrainingData
from summarizer.training import build_trainer, model_config
from summarizer.training.device import precision_name

DEFAULT_SHAPES = ("4000:128", "8000:256", "16000:512")


def shape_of(text: str) -> tuple[int, int]:
    tokens, _, rows = text.partition(":")
    return int(tokens), int(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--shape", action="append", help="batch_tokens:max_batch_size")
    parser.add_argument("--precision", default=None, help="train.precision (default: params)")
    args = parser.parse_args()
    params = load_params()
    data = TrainingData.load(params)
    base = params.train
    if args.precision:
        base = base.model_copy(update={"precision": args.precision})
    config = model_config(params.model, len(data.src_vocab), len(data.tgt_vocab))

    runs = []
    for text in args.shape or DEFAULT_SHAPES:
        tokens, rows = shape_of(text)
        train = base.model_copy(update={"batch_tokens": tokens, "max_batch_size": rows})
        trainer = build_trainer(train, config)
        batches = trainer.epoch_batches(data.train, 0)
        ranked = sorted(range(len(batches)), key=lambda i: len(batches[i]))
        spread = np.linspace(0, len(ranked) - 1, min(args.steps, len(ranked))).astype(int)
        window = [batches[ranked[i]] for i in spread]
        runs.append({"shape": text, "trainer": trainer, "window": window, "steps": len(batches)})

    for timed in (False, True):
        for run in runs:
            trainer = run["trainer"]
            trainer.model.train()
            tokens, started = 0, time.perf_counter()
            for indices in run["window"]:
                _, n = trainer.train_step([collate(data.train, indices)], 1.0)
                tokens += n
            if timed:
                run["seconds"] = time.perf_counter() - started
                run["tokens_per_second"] = tokens / run["seconds"]

    dtype = runs[0]["trainer"].autocast_dtype
    peak = matmul_peak_gflops(dtype or torch.float32)
    print(f"CPU: {cpu_name()}, {torch.get_num_threads()} threads, {precision_name(dtype)}")
    print(f"matmul peak in that precision: {peak:.1f} GFLOP/s")
    reference = runs[0]["tokens_per_second"]
    report = []
    for run in runs:
        row = {
            "shape": run["shape"],
            "target_tokens_per_second": round(run["tokens_per_second"]),
            "ratio": round(run["tokens_per_second"] / reference, 3),
            "seconds_per_step": round(run["seconds"] / len(run["window"]), 3),
            "steps_per_epoch": run["steps"],
        }
        report.append(row)
        print(
            f"{row['shape']:>11}  {row['target_tokens_per_second']:6d} target tok/s  "
            f"{row['ratio']:.2f}x  {row['seconds_per_step']:.3f} s/step  "
            f"{row['steps_per_epoch']} steps/epoch"
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
