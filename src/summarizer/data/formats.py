"""Readers for the formats real summarization datasets come in.

Every reader returns the canonical table: ``id``, ``document``, ``summary`` and, when a dataset has
several references per document, ``references`` (a list whose first item is ``summary``). Errors
name the file and the line so a broken raw file can be found and fixed, not guessed at.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from summarizer.config import DatasetSpec, SplitFiles
from summarizer.errors import DataError

COLUMNS = ["id", "document", "summary"]


def _read_text(path: Path, encoding: str) -> str:
    """The whole file decoded strictly: a silently replaced byte would reach the model as U+FFFD.

    Decoding in one piece (rather than through a buffered text stream) lets an error name the
    exact line of the offending byte.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line_no = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}, line {line_no}: cannot decode as {encoding}: {exc.reason}"
        ) from None


def _read_lines(path: Path, encoding: str) -> list[str]:
    # split("\n"), not splitlines(): a stray form feed or U+2028 inside a line must not shift
    # the alignment between parallel files.
    lines = _read_text(path, encoding).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_parallel_text(
    document_path: Path, summary_paths: list[Path], split: str, encoding: str = "utf-8"
) -> pd.DataFrame:
    """Line i of the document file pairs with line i of every summary file."""
    documents = _read_lines(document_path, encoding)
    references = [_read_lines(path, encoding) for path in summary_paths]
    for path, lines in zip(summary_paths, references, strict=True):
        if len(lines) != len(documents):
            raise DataError(
                f"{path}: has {len(lines)} lines but {document_path} has {len(documents)}; "
                "parallel files must be line-aligned"
            )
    table = pd.DataFrame(
        {
            "id": [f"{split}-{index:07d}" for index in range(len(documents))],
            "document": documents,
            "summary": references[0] if references else [],
        }
    )
    if len(summary_paths) > 1:
        table["references"] = [list(refs) for refs in zip(*references, strict=True)]
    return table


def _iter_json_lines(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for line_no, line in enumerate(_read_lines(path, encoding), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {line_no}: invalid JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise DataError(
                f"{path}, line {line_no}: expected a JSON object, got {type(record).__name__}"
            )
        yield line_no, record


def _text_field(value: Any, path: Path, line_no: int, field: str) -> str:
    """A summary may be a string or a list of sentences; sentences are kept newline-separated,
    which is what ROUGE-Lsum expects."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "\n".join(value)
    raise DataError(
        f"{path}, line {line_no}: field '{field}' must be a string or a list of strings, "
        f"got {type(value).__name__}"
    )


def _record_row(
    record: dict[str, Any], spec: DatasetSpec, path: Path, line_no: int, fallback_id: str
) -> dict[str, Any]:
    fields = spec.fields
    for name in (fields.document, fields.summary):
        if name not in record:
            raise DataError(f"{path}, line {line_no}: missing field '{name}'")
    document = _text_field(record[fields.document], path, line_no, fields.document)
    summary = _text_field(record[fields.summary], path, line_no, fields.summary)
    if fields.id is not None:
        if fields.id not in record:
            raise DataError(f"{path}, line {line_no}: missing field '{fields.id}'")
        row_id = str(record[fields.id])
    else:
        row_id = fallback_id
    return {"id": row_id, "document": document, "summary": summary}


def read_jsonl(path: Path, spec: DatasetSpec, split: str) -> pd.DataFrame:
    rows = [
        _record_row(record, spec, path, line_no, f"{split}-{line_no:07d}")
        for line_no, record in _iter_json_lines(path, spec.encoding)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def read_csv(path: Path, spec: DatasetSpec, split: str) -> pd.DataFrame:
    reader = csv.DictReader(io.StringIO(_read_text(path, spec.encoding), newline=""))
    rows = []
    try:
        header = reader.fieldnames or []
        wanted = [spec.fields.document, spec.fields.summary]
        if spec.fields.id is not None:
            wanted.append(spec.fields.id)
        missing = [name for name in wanted if name not in header]
        if missing:
            raise DataError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
        for record in reader:
            rows.append(
                _record_row(record, spec, path, reader.line_num, f"{split}-{len(rows):07d}")
            )
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: malformed CSV: {exc}") from None
    return pd.DataFrame(rows, columns=COLUMNS)


def read_split(spec: DatasetSpec, split: str) -> pd.DataFrame:
    """Read one split of a dataset as the canonical table, whatever its format."""
    root = Path(spec.path)
    if not root.is_dir():
        raise DataError(f"{root}: dataset directory for '{spec.name}' not found")
    files: SplitFiles = spec.splits[split]  # type: ignore[index]
    if spec.format == "parallel_text":
        summaries = [files.summary] if isinstance(files.summary, str) else list(files.summary or [])
        table = read_parallel_text(
            root / str(files.document), [root / name for name in summaries], split, spec.encoding
        )
        source = root / str(files.document)
    elif spec.format == "jsonl":
        source = root / str(files.file)
        table = read_jsonl(source, spec, split)
    else:
        source = root / str(files.file)
        table = read_csv(source, spec, split)
    if table.empty:
        raise DataError(f"{source}: split '{split}' of '{spec.name}' is empty")
    return table
