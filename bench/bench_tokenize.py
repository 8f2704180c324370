"""Tokenization throughput on the Gigaword training pool, three ways, measured in one run.

    python bench/bench_tokenize.py [--limit N] [--n-process K]

(a) ``str.split`` (the floor: no real tokenization), (b) spaCy called one text at a time,
(c) the tokenize stage's own function (``TextProcessor.tokenize``: ``nlp.pipe`` in batches, the
same normalisation). Prints tokens per second of each and the ratios c/b and c/a.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dataset_paths import GIGAWORD
from summarizer.config.data import TokenizeParams
from summarizer.config.params import load_params
from summarizer.data.tokenization import TextProcessor

ROOT = Path(__file__).resolve().parents[1]


def load_texts(limit: int | None) -> list[str]:
    texts: list[str] = []
    for name in ("train.article.txt", "train.title.txt"):
        lines = (GIGAWORD / name).read_text(encoding="utf-8").splitlines()
        texts.extend(lines[:limit] if limit else lines)
    return texts


def timed(label: str, func) -> tuple[int, float]:
    start = time.perf_counter()
    tokens = func()
    seconds = time.perf_counter() - start
    print(f"{label:<38} {tokens:>10,} tokens {seconds:8.2f} s {tokens / seconds:>12,.0f} tok/s")
    return tokens, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="pairs to use (default: all)")
    parser.add_argument("--n-process", type=int, default=None, help="default: params.yaml")
    args = parser.parse_args()

    settings: TokenizeParams = load_params(ROOT / "params.yaml").tokenize
    if args.n_process:
        settings = settings.model_copy(update={"n_process": args.n_process})
    # No truncation: every method must see and produce all tokens.
    processor = TextProcessor(settings)
    texts = load_texts(args.limit)
    nlp = processor.nlp
    nlp("warm up")
    print(f"{len(texts):,} texts from {GIGAWORD} (articles and titles)")

    split_tokens, split_s = timed("(a) str.split", lambda: sum(len(t.split()) for t in texts))
    single_tokens, single_s = timed(
        "(b) spaCy, one text at a time", lambda: sum(len(nlp(t)) for t in texts)
    )
    stage_tokens, stage_s = timed(
        f"(c) tokenize stage (pipe, n_process={settings.n_process})",
        lambda: sum(len(seq) for seq in processor.tokenize(texts)),
    )
    rate = {
        k: n / s
        for k, (n, s) in {
            "a": (split_tokens, split_s),
            "b": (single_tokens, single_s),
            "c": (stage_tokens, stage_s),
        }.items()
    }
    print(f"ratio c/b (stage vs spaCy one at a time): {rate['c'] / rate['b']:.2f}x")
    print(f"ratio c/a (stage vs str.split):           {rate['c'] / rate['a']:.3f}x")


if __name__ == "__main__":
    main()
