"""The examples that are decoded and scored: an ingested split, or an extra test set such as
DUC-2004, each as a table with a ``references`` list per row (one or several references)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from summarizer.config.evaluation import ExtraTestSet
from summarizer.data.formats import join_sentences
from summarizer.data.tables import read_parallel_text
from summarizer.evaluation.baselines import split_sentences
from summarizer.io import read_stage_table

# Test examples in each standard test set, as published (../shared/datasets/README.md), keyed by
# dataset.name or extra test set name. A score on fewer is not comparable with the literature.
DOCUMENTED_TEST_SIZES: dict[str, int] = {
    "gigaword": 1951,
    "cnndm": 11490,
    "samsum": 819,
    "duc2004": 500,
}


def _with_references(table: pd.DataFrame) -> pd.DataFrame:
    # Single-reference tables have only ``summary``; scoring always takes a list per example.
    if "references" not in table.columns:
        table["references"] = table["summary"].map(lambda summary: [summary])
    else:
        table["references"] = table["references"].map(list)
    return table.reset_index(drop=True)


def load_split(
    path: Path, max_examples: int | None = None, leave_out: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """An ingested split at ``path`` (its first ``max_examples`` rows), with ``references``.

    ``leave_out``: ids of rows that ``validate`` dropped (see
    :func:`summarizer.stages.validation_gate.require_validated`); they are left out before the cut.

    Raises:
        DataError: if the ingest stage has not written the split (see
            :func:`~summarizer.io.read_stage_table`).
    """
    table = read_stage_table(path, "ingest")
    if leave_out:
        table = table[~table["id"].astype(str).isin(leave_out)]
    if max_examples is not None:
        table = table.head(max_examples)
    return _with_references(table)


def load_extra_test_set(root: Path, name: str, spec: ExtraTestSet) -> pd.DataFrame:
    """Extra test set ``name``'s line-aligned files under ``root`` as a table with
    ``references`` (ids ``name-…``)."""
    table = read_parallel_text(
        root / spec.document, [root / reference for reference in spec.references], split=name
    )
    return _with_references(table)


def size_entry(
    name: str, examples: int, ingest_report: Mapping[str, Any]
) -> dict[str, str | int | None]:
    """The ``test_set`` entry of ``evaluation.json``: how many examples were scored beside how many
    the standard test set has (null when none is documented for ``name``), and ingest's word on
    whether the split was changed (``ingest.filter_test``): "test set modified: N of M rows"."""
    ingested = ingest_report.get("test_set") or {}
    counted = {"source_rows", "rows"} <= ingested.keys()
    modified = ingested["source_rows"] - ingested["rows"] if counted else None
    return {
        "name": name,
        "examples": examples,
        "documented_examples": DOCUMENTED_TEST_SIZES.get(name),
        "modified_rows": modified,
        "note": ingested.get("note"),
    }


def size_warning(name: str, examples: int) -> str | None:
    """Why a score on ``examples`` examples of test set ``name`` is not the published kind of
    score, or None when the size matches or none is documented for ``name``."""
    documented = DOCUMENTED_TEST_SIZES.get(name)
    if documented is None or documented == examples:
        return None
    return (
        f"test set '{name}' has {examples} examples but the standard one has {documented}: "
        "these scores do not compare with published ones (see evaluate.max_test_examples, "
        "ingest.filter_test and reports/ingest.json)"
    )


def split_like_references(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> list[str]:
    """``predictions`` newline-split into sentences when the references are (CNN/DM highlights):
    ROUGE-Lsum reads sentences from newlines, and the model writes none, since the tokenizer
    drops them. Headlines are left as they are, so their ROUGE-Lsum stays ROUGE-L."""
    if not any("\n" in reference for refs in references for reference in refs):
        return list(predictions)
    return [join_sentences(split_sentences(prediction)) for prediction in predictions]
