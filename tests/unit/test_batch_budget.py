"""A ``train.batch_tokens`` budget smaller than the longest training example is refused, naming
the key, the longest example and how many examples exceed it (it trained one example per step)."""

from __future__ import annotations

import pytest

from summarizer.batching import EncodedPairs, check_batch_budget, token_batches
from summarizer.config.data import VocabParams
from summarizer.data.vocab import Vocab
from summarizer.errors import ConfigError
from tests.conftest import DATASETS


@pytest.fixture(scope="module")
def pairs() -> EncodedPairs:
    """The first 200 real Gigaword pairs (already tokenized: split on spaces)."""
    root = DATASETS / "gigaword"
    with open(root / "train.article.txt") as docs, open(root / "train.title.txt") as titles:
        sources = [next(docs).split() for _ in range(200)]
        targets = [next(titles).split() for _ in range(200)]
    vocab = Vocab.build(sources + targets, VocabParams(min_freq=1))
    return EncodedPairs.from_tokens(sources, targets, vocab, vocab)


def test_budget_below_the_longest_example_is_named(pairs: EncodedPairs) -> None:
    sources = [len(s) for s in pairs.sources]
    targets = [len(t) for t in pairs.targets]
    sizes = [s + t + 1 for s, t in zip(sources, targets, strict=True)]
    # What the check prevents: every example in a batch of its own, without a word.
    batches = token_batches(sources, targets, batch_tokens=5, max_batch_size=256)
    assert len(batches) == len(pairs)
    with pytest.raises(ConfigError) as raised:
        check_batch_budget(pairs, 5)
    message = str(raised.value)
    assert message.startswith("train.batch_tokens: 5 tokens is less than the longest")
    assert f"({max(sizes)} tokens: source + target + <eos>)" in message
    assert f"{len(pairs)} of {len(pairs)} examples exceed it" in message
    assert f"at least {max(sizes)}" in message

    longest = sizes.count(max(sizes))
    with pytest.raises(ConfigError, match=rf"; {longest} of 200 examples exceed it"):
        check_batch_budget(pairs, max(sizes) - 1)
    check_batch_budget(pairs, max(sizes))  # the longest example fits
    check_batch_budget(EncodedPairs([], []), 1)
