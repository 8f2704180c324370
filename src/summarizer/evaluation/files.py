"""Predictions and references from files, for ``summarizer score``.

The files are read by :mod:`summarizer.data.formats` (its rules and messages for lines, ``.gz``,
JSON Lines and sentence lists) and scored by :func:`~summarizer.evaluation.scoring.score_corpus`.
Every file is line-aligned: line i of each holds example i, so an empty text line is an empty
prediction (scored 0, not dropped) and a blank JSON Lines line is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from summarizer.data.formats import (
    is_json_lines,
    join_sentences,
    read_json_lines,
    read_lines,
    text_field,
)
from summarizer.errors import DataError
from summarizer.evaluation.scoring import CorpusScores, ScoringOptions, score_corpus


def read_texts(
    path: Path | str, field: str | None = None, *, sentence_separator: str | None = None
) -> list[str] | list[list[str]]:
    """Read summaries from a line-aligned text file or a JSON Lines file (either may be ``.gz``).

    * Text (any suffix other than ``.jsonl``/``.ndjson``/``.json``, and no ``field``): one summary
      per line; an empty line is an empty summary (scored as 0, not dropped). Lines cannot hold
      newlines, so for ROUGE-Lsum give ``sentence_separator`` (e.g. ``"<q>"``): each line is split
      on it and newline-joined.
    * JSON Lines (by suffix, or whenever ``field`` is given): one object per line; ``field`` holds
      a string (newlines separate sentences), a list of sentences (newline-joined), or a list of
      sentence lists meaning several references for that example.

    Returns a ``list[str]``, or a ``list[list[str]]`` when any line holds several references
    (single ones are then wrapped in a one-element list).

    Raises:
        DataError: naming the file (and line) for a missing or unreadable file, bytes that are not
            UTF-8, a blank or non-object JSON line, a missing field or a field of the wrong type.
    """
    path = Path(path)
    if field is None and not is_json_lines(path):
        lines = read_lines(path)
        if sentence_separator:
            return [join_sentences(line.split(sentence_separator)) for line in lines]
        return lines
    if field is None:
        raise DataError(f"{path}: a JSON Lines file needs the name of the field holding the text")
    texts = [
        text_field(record, field, f"{path}, line {number}", several=True)
        for number, record in enumerate(read_json_lines(path), start=1)
    ]
    if any(isinstance(t, list) for t in texts):
        return [t if isinstance(t, list) else [t] for t in texts]
    return [t for t in texts if isinstance(t, str)]


def score_files(
    predictions_path: Path | str,
    reference_paths: Sequence[Path | str],
    *,
    prediction_field: str | None = None,
    reference_field: str | None = None,
    options: ScoringOptions | None = None,
    sentence_separator: str | None = None,
    progress: bool = False,
) -> CorpusScores:
    """Score a predictions file against one or more line-aligned reference files.

    Several reference files give several references per example (DUC-2004's four); a JSON Lines
    reference file may also hold several references per line (see :func:`read_texts`).

    Raises:
        DataError: for any unreadable input (see :func:`read_texts`), a predictions file holding
            several texts per line, or a count mismatch (naming both files).
    """
    if not reference_paths:
        raise DataError("no reference file given")
    predictions_path = Path(predictions_path)
    predictions = read_texts(
        predictions_path, prediction_field, sentence_separator=sentence_separator
    )
    if any(isinstance(p, list) for p in predictions):
        raise DataError(f"{predictions_path}: predictions must hold one text per line, not lists")
    preds = [p for p in predictions if isinstance(p, str)]

    references: list[list[str]] = [[] for _ in preds]
    for ref_path in map(Path, reference_paths):
        refs = read_texts(ref_path, reference_field, sentence_separator=sentence_separator)
        if len(refs) != len(preds):
            first_unpaired = min(len(refs), len(preds)) + 1
            longer = predictions_path if len(preds) > len(refs) else ref_path
            raise DataError(
                f"{predictions_path} has {len(preds)} examples but {ref_path} has {len(refs)}: "
                f"line {first_unpaired} of {longer} has no counterpart"
            )
        for example_refs, ref in zip(references, refs, strict=True):
            example_refs.extend([ref] if isinstance(ref, str) else ref)
    if not preds:
        raise DataError(f"{predictions_path}: no predictions to score")
    return score_corpus(preds, references, options, progress=progress)
