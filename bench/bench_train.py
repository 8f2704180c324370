"""Training throughput: the classic tutorial seq2seq, the trainer before issue 13 and this
project's trainer, one run.

    python bench/bench_train.py [--steps N] [--warmup N] [--pairs N] [--threads N]
    python bench/bench_train.py --threads 1 --pairs 25492     # beside OpenNMT-py's figure
    python bench/bench_train.py --copy-coverage [--steps N]

(a) the reference: ``ReferenceSeq2Seq`` (``reference_model.py``, no attention), decoder stepped
    one token at a time in Python with teacher forcing 0.5, random unsorted batches of 64 pairs,
    no packing, Adam, clip 1;
(b0) the step as it was before issue 13: every target position, padding included, goes
    through the output projection and the loss, in fp32 (on today's length buckets, which
    already pad targets less than before: 8% of the target positions of the first 25,492
    Gigaword pairs instead of 14%);
(b32) this project's trainer in fp32: ``Seq2Seq`` with the same sizes (embedding 256, hidden
    512, 2 layers, 10,000-word vocabularies, dropout 0.5), general attention, the one-call fast
    path, batches of 64 pairs of similar length, the trainer's own step (AdamW, clipping,
    packing), only the positions the loss reads scored;
(b) the same at ``train.precision: auto``: bf16 autocast where the CPU multiplies bf16 in
    hardware (AVX-512 BF16 or AMX), fp32 elsewhere.

All train on the same real Gigaword pairs on this machine. The timed window of (b0), (b32), (b) is
``--steps`` batches spread evenly over the epoch's batches ranked by size, so it holds the
epoch's mix of lengths (tokens/s depends on the source/target length ratio; a run of
consecutive batches is a random draw of it); the three are stepped in turn on the same
batches, so a load change on the machine hits them alike. Prints target tokens per second of
each and their ratios, the achieved GFLOP/s of each (FLOPs by formula, over the positions each
computes) against a matmul peak of its precision measured at the same thread count, and the
peak resident memory of their process (a fresh one, so (a) does not inflate it).

OpenNMT-py 3.5.1 at the same sizes, one core, batches of 64 sentences, on the first 25,492
Gigaword training pairs: 815 target tokens/s in fp32, measured once for issue 13 on another
machine (it cannot be installed beside this project's torch). ``--threads 1 --pairs 25492``
prints that figure beside (b32) and (b), with the CPU it came from and this run's CPU, and no
ratio: a ratio compares rates measured in the same run, and this one was not.

``--copy-coverage`` instead measures what the pointer-generator and coverage cost: (b) against
the same trainer and sizes with ``copy`` and ``coverage`` on (coverage loss active, extended
ids from the target vocabulary), stepping the two in turn on the same batches.
Target: at most 30% fewer target tokens per second.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

# Run as a script, this folder is on sys.path: the dataset paths and the benchmark-only tutorial
# model sit beside it.
from dataset_paths import GIGAWORD
from reference_model import ReferenceSeq2Seq
from summarizer.batching import EncodedPairs, collate
from summarizer.config.data import TokenizeParams, VocabParams
from summarizer.config.training import ModelParams, TrainParams
from summarizer.data.tokenization import TextProcessor
from summarizer.data.vocab import PAD_ID, Vocab
from summarizer.training import Trainer, build_parts, build_trainer, model_config
from summarizer.training.device import precision_name

BATCH = 64
VOCAB = 10_000
# OpenNMT-py 3.5.1's rate at these sizes on one core (see the docstring), the pairs it had and
# the machine it was measured on.
OPENNMT_TOKENS_PER_SECOND = 815
OPENNMT_PAIRS = 25_492
OPENNMT_CPU = "one core of the 2-core Intel Xeon development machine of issue 13 (2026-11)"
SIZES = ModelParams(
    emb_dim=256,
    hidden_dim=512,
    enc_layers=2,
    dec_layers=2,
    dropout=0.5,
    attention="general",
    input_feeding=False,
    tie_embeddings=False,
    bidirectional=True,
)


def load_pairs(count: int, extended: bool = False) -> EncodedPairs:
    articles = (GIGAWORD / "train.article.txt").read_text().splitlines()[:count]
    titles = (GIGAWORD / "train.title.txt").read_text().splitlines()[:count]
    processor = TextProcessor(TokenizeParams(max_source_len=60, max_target_len=20))
    sources, targets = processor.tokenize_source(articles), processor.tokenize_target(titles)
    params = VocabParams(min_freq=1, max_size=VOCAB)
    return EncodedPairs.from_tokens(
        sources, targets, Vocab.build(sources, params), Vocab.build(targets, params), extended
    )


def cpu_name() -> str:
    """The model name of this machine's CPU, as the kernel reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if line[:10] == "model name"]
    except OSError:  # not Linux
        names = []
    return names[0] if names else platform.processor() or "an unknown CPU"


def matmul_peak_gflops(
    dtype: torch.dtype = torch.float32, size: int = 2048, repeats: int = 8, rounds: int = 5
) -> float:
    """Best of several timed rounds of a square matmul: the machine's practical peak."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def rnn_flops(module: nn.Module, tokens: int) -> int:
    """Forward FLOPs of an LSTM/GRU over ``tokens`` positions."""
    gates = 4 if isinstance(module, nn.LSTM) else 3
    directions = 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        inputs = module.input_size if layer == 0 else module.hidden_size * directions
        total += 2 * gates * module.hidden_size * (inputs + module.hidden_size) * directions
    return total * tokens


def step_flops(model: nn.Module, batch, scored_only: bool = True) -> int:
    """FLOPs of one training step, by formula, as nanoGPT estimates its MFU.

    Counted once per matmul, forward x 3 for forward plus backward, over the positions the step
    computes: the RNNs and attention over the padded target (the decoder RNN runs over padding),
    the output projection over the scored positions (``scored_only``) or all of them. Formulas
    rather than torch.utils.flop_counter because the fused CPU RNN kernels are invisible to it
    and its attribution of the packed RNN's matmuls is inconsistent.
    """
    rows, source_len = batch.src.shape
    target_positions = batch.tgt_in.numel()  # padded positions are computed too
    scored = batch.num_target_tokens if scored_only else target_positions
    hidden = model.config.hidden_dim
    vocab = model.config.tgt_vocab_size
    forward = rnn_flops(model.encoder.rnn, int(batch.src_lengths.sum()))
    forward += rnn_flops(model.decoder.rnn, target_positions)
    forward += (
        2 * rows * 2 * (hidden * model.config.enc_layers) * (hidden * model.config.dec_layers)
    )
    forward += 2 * rows * source_len * hidden * hidden  # general attention keys
    forward += 2 * 2 * target_positions * source_len * hidden  # scores and context (bmm)
    forward += 2 * target_positions * 2 * hidden * hidden  # combine [context; output]
    forward += 2 * scored * hidden * vocab  # output projection
    return 3 * forward


class AllPositionsTrainer(Trainer):
    """(b0): the step as it was before issue 13, scoring every target position."""

    def forward(self, batch, ratio=1.0, network=None):
        return (network or self.model)(
            batch.src,
            batch.src_lengths,
            batch.tgt_in,
            ratio,
            src_ext=batch.src_ext,
            num_oov=batch.num_oov,
        )


def timed_window(batches: list, steps: int) -> list:
    """``steps`` batches spread evenly over ``batches`` ranked by target tokens, in their epoch
    order: the epoch's mix of lengths in a short window."""
    ranked = sorted(range(len(batches)), key=lambda i: batches[i].num_target_tokens)
    stride = len(ranked) / min(steps, len(ranked))
    picked = sorted(ranked[int(k * stride)] for k in range(min(steps, len(ranked))))
    return [batches[i] for i in picked]


def reference_run(pairs: EncodedPairs, steps: int, warmup: int) -> float:
    torch.manual_seed(0)
    random.seed(0)
    model = ReferenceSeq2Seq(VOCAB, VOCAB, 256, 512, 2, 0.5)
    optimizer = torch.optim.Adam(model.parameters())
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID)
    rng = np.random.default_rng(0)
    tokens = 0
    started = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            tokens, started = 0, time.perf_counter()
        batch = collate(pairs, rng.choice(len(pairs), BATCH, replace=False))
        src = batch.src.t()
        # tutorial layout: trg = <bos> y1..yn <eos>, time-major; outputs[0] is never scored
        trg = torch.cat([batch.tgt_in[:, :1], batch.tgt_out], 1).t()
        optimizer.zero_grad()
        output = model(src, trg, 0.5)
        loss = loss_fn(output[1:].flatten(0, 1), trg[1:].flatten())
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        tokens += batch.num_target_tokens
    return tokens / (time.perf_counter() - started)


# The settings the README's numbers were measured with, spelled out: the defaults moved to
# params.yaml's (lr 2e-3, label smoothing 0.1), and a bench must not change under its readers.
MEASURED_AS_BEFORE = {
    "batch_tokens": 10**9,
    "max_batch_size": BATCH,
    "seed": 0,
    "warmup_steps": 10,
    "lr": 1e-3,
    "label_smoothing": 0.0,
}


def project_run(pairs: EncodedPairs, steps: int, warmup: int) -> dict[str, float | str]:
    """Target tokens/s and GFLOP/s of (b0), (b32) and (b), stepped in turn on the same
    batches."""
    params = TrainParams(device="cpu", **MEASURED_AS_BEFORE)
    fp32 = params.model_copy(update={"precision": "fp32"})
    config = model_config(SIZES, VOCAB, VOCAB)
    trainers = {
        "b0": AllPositionsTrainer(fp32, build_parts(fp32, config)),
        "b32": build_trainer(fp32, config),
        "b": build_trainer(params, config),  # train.precision auto: bf16 where the CPU has it
    }
    for trainer in trainers.values():  # no checkpoint store
        trainer.use_schedule(steps_per_epoch=1000)
        assert trainer.model.uses_fast_path(1.0)
    batches = [collate(pairs, idx) for idx in trainers["b"].epoch_batches(pairs, 0)]
    elapsed = dict.fromkeys(trainers, 0.0)
    for batch in batches[:warmup]:
        for trainer in trainers.values():
            trainer.train_step([batch], 1.0)
    timed = timed_window(batches, steps)
    for batch in timed:
        for name, trainer in trainers.items():
            started = time.perf_counter()
            trainer.train_step([batch], 1.0)
            elapsed[name] += time.perf_counter() - started
    tokens = sum(batch.num_target_tokens for batch in timed)
    model = trainers["b"].model
    result: dict[str, float | str] = {}
    result["precision"] = precision_name(trainers["b"].autocast_dtype)
    for name, scored_only in (("b0", False), ("b32", True), ("b", True)):
        flops = sum(step_flops(model, batch, scored_only) for batch in timed)
        result[name] = tokens / elapsed[name]
        result[f"{name}_gflops"] = flops / elapsed[name] / 1e9
    return result


def copy_coverage_run(pairs: EncodedPairs, steps: int, warmup: int) -> tuple[float, float]:
    """Target tokens/s of (b) without and with copy + coverage, stepped in turn."""
    params = TrainParams(
        device="cpu",
        **MEASURED_AS_BEFORE,
        coverage_from_epoch=1,  # what is timed is the coverage phase, not the epochs before it
    )
    with_both = SIZES.model_copy(update={"copy": True, "coverage": True})
    trainers = [build_trainer(params, model_config(s, VOCAB, VOCAB)) for s in (SIZES, with_both)]
    assert trainers[1].in_coverage_phase(0)  # coverage_from_epoch 1: loss and parameters on
    batches = [collate(pairs, idx) for idx in trainers[0].epoch_batches(pairs, 0)]
    elapsed = [0.0, 0.0]
    tokens = 0
    for step in range(warmup + steps):
        batch = batches[step % len(batches)]
        for i, trainer in enumerate(trainers):
            started = time.perf_counter()
            trainer.train_step([batch], 1.0)
            if step >= warmup:
                elapsed[i] += time.perf_counter() - started
        tokens += batch.num_target_tokens if step >= warmup else 0
    return tokens / elapsed[0], tokens / elapsed[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--only-project", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--copy-coverage", action="store_true", help="cost of copy + coverage against (b)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = load_pairs(args.pairs, extended=args.copy_coverage)

    if args.copy_coverage:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(pairs)} pairs")
        plain, both = copy_coverage_run(pairs, args.steps, args.warmup)
        print(f"(b) this project's trainer:    {plain:10.0f} target tokens/s")
        print(f"(c) (b) with copy + coverage:  {both:10.0f} target tokens/s")
        print(f"ratio c/b: {both / plain:.2f} (target >= 0.70: copy + coverage cost <= 30%)")
        return

    if args.only_project:  # child process: the trainers alone, so the peak memory is theirs
        result = project_run(pairs, args.steps, args.warmup)
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(pairs)} pairs")
    peaks = {dtype: matmul_peak_gflops(dtype) for dtype in (torch.float32, torch.bfloat16)}
    print(
        f"matmul peak (2048^3, measured now): fp32 {peaks[torch.float32]:.1f} GFLOP/s, "
        f"bf16 {peaks[torch.bfloat16]:.1f} GFLOP/s"
    )
    options = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    options += ["--pairs", str(args.pairs), "--threads", str(args.threads)]
    child = subprocess.run(
        [sys.executable, __file__, "--only-project", *options],
        capture_output=True,
        text=True,
        check=True,
    )
    project = json.loads(child.stdout.strip().splitlines()[-1])
    reference = reference_run(pairs, args.steps, args.warmup)
    precision = project["precision"]
    rows = {
        "a": ("reference tutorial seq2seq", reference),
        "b0": ("the step before issue 13 (fp32, all positions)", project["b0"]),
        "b32": ("this project's trainer, fp32", project["b32"]),
        "b": (f"this project's trainer, train.precision auto ({precision})", project["b"]),
    }
    for name, (label, rate) in rows.items():
        print(f"({name}) {label + ':':58} {rate:7.0f} target tokens/s")
    print(f"ratio b/a: {project['b'] / reference:.2f}x (target >= 2.5x)")
    b0 = project["b0"]
    print(f"ratio b32/b0: {project['b32'] / b0:.2f}x, b/b0: {project['b'] / b0:.2f}x")
    if args.threads == 1 and args.pairs == OPENNMT_PAIRS:
        print(
            f"OpenNMT-py 3.5.1, not run here: {OPENNMT_TOKENS_PER_SECOND} target tokens/s (fp32) "
            f"on {OPENNMT_CPU}; this run: {cpu_name()}"
        )
    for name in ("b0", "b32", "b"):
        gflops = project[f"{name}_gflops"]
        peak = peaks[torch.bfloat16 if name == "b" and precision != "fp32" else torch.float32]
        print(f"({name}) achieved {gflops:.1f} GFLOP/s = {100 * gflops / peak:.0f}% of its peak")
    print(f"(b0)+(b32)+(b) peak resident memory: {project['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
