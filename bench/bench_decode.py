"""Decoding throughput: batched beam search against the same search one example at a time.

    python bench/bench_decode.py [--model models/summarizer] [--examples 200] [--beam 5]

Same model, same Gigaword test examples, same options, one run. Prints examples per second of
both, the ratio, and whether both produced identical outputs (they must).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from dataset_paths import GIGAWORD
from summarizer.config.params import load_params
from summarizer.inference import Summarizer

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "summarizer")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()
    if not args.model.is_dir():
        raise SystemExit(f"{args.model}: no packaged model; run `dvc repro package` first")

    summarizer = Summarizer.from_dir(args.model)
    options = load_params(ROOT / "params.yaml").evaluate.decode.with_overrides(
        {"beam_size": args.beam}, source="--beam"
    )
    documents = (GIGAWORD / "test.article.txt").read_text().splitlines()[: args.examples]
    sources = summarizer.loaded.processor.tokenize_source(documents)
    print(
        f"{len(sources)} Gigaword test examples, beam {args.beam}, "
        f"{torch.get_num_threads()} threads, model {args.model}"
    )
    summarizer.summarize_tokens(sources[:8], options)  # warm-up

    start = time.perf_counter()
    batched = summarizer.summarize_tokens(sources, options)
    batched_s = time.perf_counter() - start

    start = time.perf_counter()
    single = [summarizer.summarize_tokens([source], options)[0] for source in sources]
    single_s = time.perf_counter() - start

    same = sum(a.tokens == b.tokens for a, b in zip(batched, single, strict=True))
    print(f"batched beam search:        {len(sources) / batched_s:8.1f} examples/s")
    print(f"one example at a time:      {len(sources) / single_s:8.1f} examples/s")
    print(f"ratio: {single_s / batched_s:.2f}x (target >= 5x)")
    print(f"identical outputs: {same}/{len(sources)}")
    if same != len(sources):
        raise SystemExit("batched and one-at-a-time beam search disagree")


if __name__ == "__main__":
    main()
