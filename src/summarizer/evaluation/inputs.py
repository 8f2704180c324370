"""The examples that are decoded and scored: an ingested split, or an extra test set such as
DUC-2004, each as a table with a ``references`` list per row (one or several references)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from summarizer.config import ExtraTestSet, Paths
from summarizer.data.formats import read_parallel_text
from summarizer.io import read_stage_table


def _with_references(table: pd.DataFrame) -> pd.DataFrame:
    # Single-reference tables have only ``summary``; scoring always takes a list per example.
    if "references" not in table.columns:
        table["references"] = table["summary"].map(lambda summary: [summary])
    else:
        table["references"] = table["references"].map(list)
    return table.reset_index(drop=True)


def load_split(split: str, max_examples: int | None = None) -> pd.DataFrame:
    """The ingested ``split`` (its first ``max_examples`` rows if given), with ``references``.

    Raises:
        DataError: if the ingest stage has not written the split (see
            :func:`~summarizer.io.read_stage_table`).
    """
    table = read_stage_table(Paths.interim_split(split), "ingest")
    if max_examples is not None:
        table = table.head(max_examples)
    return _with_references(table)


def load_extra_test_set(name: str, spec: ExtraTestSet) -> pd.DataFrame:
    """An extra test set's line-aligned files as a table with ``references`` (ids ``name-…``)."""
    root = Path(spec.path)
    table = read_parallel_text(
        root / spec.document, [root / reference for reference in spec.references], split=name
    )
    return _with_references(table)
