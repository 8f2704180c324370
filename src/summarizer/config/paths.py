"""Every file the stages exchange, named once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal


class Paths:
    """Every file the stages exchange. Stages talk to each other only through these."""

    interim = Path("data/interim")
    processed = Path("data/processed")
    vocab_dir = Path("data/vocab")
    reports = Path("reports")
    models = Path("models")

    ingest_report = reports / "ingest.json"
    validation_dir = reports / "validation"
    validation_summary = validation_dir / "summary.json"
    validation_docs = validation_dir / "data_docs"
    vocab_metrics = reports / "vocab.json"

    checkpoints = models / "checkpoints"  # last.pt and best.pt: training.CheckpointStore
    model_dir = models / "summarizer"  # self-describing: weights, config, vocab, tokenizer
    train_run = models / "mlflow_run.json"
    train_history = reports / "train_history.csv"
    train_metrics = reports / "train_metrics.json"
    evaluation = reports / "evaluation.json"  # everything evaluate measured
    metrics = reports / "metrics.json"  # its headline numbers: the DVC and MLflow metrics
    predictions = reports / "predictions.jsonl"
    rouge_by_length = reports / "rouge_by_length.csv"
    attention_dir = reports / "attention"

    @classmethod
    def interim_split(cls, split: str) -> Path:
        """The ingested table of ``split`` (written by ``ingest``)."""
        return cls.interim / f"{split}.parquet"

    @classmethod
    def processed_split(cls, split: str) -> Path:
        """The tokenized table of ``split`` (written by ``tokenize``)."""
        return cls.processed / f"{split}.parquet"

    @classmethod
    def vocab_file(cls, side: Literal["source", "target"]) -> Path:
        """The vocabulary of one side (written by ``vocab``)."""
        return cls.vocab_dir / f"{side}.json"


SPLITS: tuple[str, ...] = ("train", "validation", "test")
