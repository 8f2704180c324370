"""Stage ``vocab``: source and target vocabularies from the training split, their coverage of
the validation split."""

from __future__ import annotations

from itertools import chain

from summarizer.config.data import DataStageParams
from summarizer.config.paths import Paths
from summarizer.data.vocab import Vocab
from summarizer.io import atomic_directory, read_stage_table, write_json


def run(params: DataStageParams) -> dict:
    """Stage ``vocab``: vocabularies from the training split, coverage on the validation split."""
    settings = params.vocab
    splits = {
        split: read_stage_table(
            Paths.processed_split(split), "tokenize", columns=["source", "target"]
        )
        for split in ("train", "validation")
    }
    train, validation = splits["train"], splits["validation"]
    if settings.shared:
        shared = Vocab.build(chain(train["source"], train["target"]), settings)
        vocabs = {"source": shared, "target": shared}
    else:
        vocabs = {side: Vocab.build(train[side], settings) for side in ("source", "target")}
    metrics = {
        side: {
            "size": len(vocab),
            "validation_oov_rate": round(vocab.oov_rate(validation[side]), 6),
            "train_oov_rate": round(vocab.oov_rate(train[side]), 6),
        }
        for side, vocab in vocabs.items()
    }
    metrics["shared"] = settings.shared
    with atomic_directory(Paths.vocab_dir) as tmp:
        tmp.mkdir(parents=True)
        for side, vocab in vocabs.items():
            vocab.save(tmp / Paths.vocab_file(side).name)
    write_json(Paths.vocab_metrics, metrics)
    return metrics
