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
    trained_model = models / "trained"  # what train exports: weights, config, vocab, tokenizer
    model_dir = models / "summarizer"  # the trained model packaged with its decoding options
    train_run = models / "mlflow_run.json"
    train_history = reports / "train_history.csv"
    train_history_plot = reports / "train_history.png"
    train_metrics = reports / "train_metrics.json"
    evaluation = reports / "evaluation.json"  # everything evaluate measured
    metrics = reports / "metrics.json"  # its headline numbers: the DVC and MLflow metrics
    predictions = reports / "predictions.jsonl"
    rouge_by_length = reports / "rouge_by_length.csv"
    attention_dir = reports / "attention"
    register_report = reports / "register.json"  # register's decision, kept with the run
    external = Path("data/external")  # extra test sets, one directory each (kept by .gitkeep)

    @classmethod
    def interim_split(cls, split: str) -> Path:
        """The ingested table of ``split`` (written by ``ingest``)."""
        return cls.interim / f"{split}.parquet"

    @classmethod
    def processed_split(cls, split: str) -> Path:
        """The tokenized table of ``split`` (written by ``tokenize``)."""
        return cls.processed / f"{split}.parquet"

    @classmethod
    def external_test_set(cls, name: str) -> Path:
        """Extra test set ``name`` as evaluate reads it (copied there by ``extra_test_set``)."""
        return cls.external / name

    @classmethod
    def vocab_file(cls, side: Literal["source", "target"]) -> Path:
        """The vocabulary of one side (written by ``vocab``)."""
        return cls.vocab_dir / f"{side}.json"


SPLITS: tuple[str, ...] = ("train", "validation", "test")
