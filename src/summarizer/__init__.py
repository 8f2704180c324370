"""Abstractive summarization: a reproducible DVC + MLflow pipeline around a seq2seq model."""

__version__ = "0.1.0"
