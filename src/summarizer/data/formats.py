"""One reader per file format (lines, JSON Lines, CSV) and the canonical table ingest builds.

Ingest (:func:`read_split`), ``summarize`` (documents) and ``score`` (predictions and references)
all read files through this module, so one set of rules and messages holds for all of them:

* **Decoding** is strict: a silently replaced byte would reach the model as U+FFFD. ``.gz`` files
  are read transparently and a leading byte-order mark is dropped.
* **Lines** are split on ``\\n`` only (``str.splitlines`` would also split on a form feed or U+2028
  inside a text and shift the alignment of parallel files); a ``\\r`` before the ``\\n`` is
  dropped and a final newline does not add a line. An empty line is kept: whether it is allowed
  (an empty prediction) or not (an empty document) is the caller's rule.
* **JSON Lines**: every line is one JSON object. A blank line is an error, never skipped: skipping
  it would silently shift every later record against a line-aligned file.
* **Text fields** hold a string or a list of sentences, joined by :func:`join_sentences`.
* **Several references** (several summary files, several ``fields.summary`` names, or a summary
  field holding a list of sentence lists) give the table a ``references`` column, a list of
  texts per row, whatever the format; ``summary`` is then the first reference, which is what
  validation checks and training learns from, and evaluation scores against all of them.

Every error is a :class:`~summarizer.errors.DataError` that names the file and the line, so a
broken file can be found and fixed, not guessed at.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from summarizer.config import DatasetSpec, SplitFiles
from summarizer.errors import DataError
from summarizer.project import resolve_data_path

COLUMNS = ["id", "document", "summary"]
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


# ------------------------------------------------------------------------------------- lines
def decode_text(data: bytes, source: Path | str, encoding: str = "utf-8") -> str:
    """``data`` decoded strictly, without a byte-order mark; an error names the line of the bad
    byte (decoding in one piece, not through a text stream, is what makes that possible)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{source}, line {line}: cannot decode as {encoding}: {exc.reason} (byte {exc.start})"
        ) from None
    return text.removeprefix("\ufeff")


def read_text(path: Path | str, encoding: str = "utf-8") -> str:
    """The whole of a text file (``.gz`` transparently), decoded by :func:`decode_text`."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    return decode_text(data, path, encoding)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` by the module's rules: ``\\n`` only, ``\\r\\n`` as ``\\n``, no
    extra line after a final newline."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_lines(path: Path | str, encoding: str = "utf-8") -> list[str]:
    """The lines of a text file (see :func:`split_lines`), empty ones included."""
    return split_lines(read_text(path, encoding))


# ------------------------------------------------------------------------------- JSON Lines
def is_json_lines(path: Path) -> bool:
    """Whether ``path`` is named as JSON Lines: ``.jsonl``, ``.ndjson`` or ``.json``, maybe
    ``.gz``."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in JSON_LINES_SUFFIXES


def parse_json_lines(lines: Iterable[str], source: Path | str) -> Iterator[dict[str, Any]]:
    """One JSON object per line; a blank line, invalid JSON or a non-object names its line.

    Records come one at a time, so a caller that checks each record reports the first problem
    in the file, whether it is in the JSON or in a field.
    """
    for number, line in enumerate(lines, start=1):
        where = f"{source}, line {number}"
        if not line.strip():
            raise DataError(f"{where}: blank line, expected a JSON object")
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
        yield record


def read_json_lines(path: Path | str, encoding: str = "utf-8") -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file (see :func:`parse_json_lines`); the file is read (and
    decoded) at once, its lines parsed as the records are taken."""
    return parse_json_lines(read_lines(path, encoding), path)


# ------------------------------------------------------------------------------ text fields
def join_sentences(sentences: Iterable[str]) -> str:
    """The sentences of one text, newline-separated: the form ROUGE-Lsum reads sentences from.

    Nothing is dropped or re-spaced: rouge-score ignores empty sentences and spacing itself, and
    the ingested table keeps the raw text.
    """
    return "\n".join(sentences)


def _is_sentence_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def field_value(record: dict[str, Any], name: str, where: str) -> Any:
    """``record[name]``, or a :class:`DataError` naming the keys the record does have."""
    if name not in record:
        keys = ", ".join(sorted(map(str, record))) or "none"
        raise DataError(f"{where}: missing field '{name}' (keys: {keys})")
    return record[name]


def text_field(
    record: dict[str, Any], name: str, where: str, *, several: bool = False
) -> str | list[str]:
    """The text in ``record[name]``: a string, or a list of sentences (joined by
    :func:`join_sentences`). With ``several``, a list of such sentence lists is several texts
    (several references for one example) and comes back as a list."""
    value = field_value(record, name, where)
    if isinstance(value, str):
        return value
    if _is_sentence_list(value):
        return join_sentences(value)
    if several and isinstance(value, list) and value and all(map(_is_sentence_list, value)):
        return [join_sentences(item) for item in value]
    expected = (
        "a string, a list of sentence strings, or a list of sentence lists (several references)"
        if several
        else "a string or a list of strings"
    )
    raise DataError(f"{where}: field '{name}' must be {expected}, got {type(value).__name__}")


# ---------------------------------------------------------------------------- dataset tables
def read_parallel_text(
    document_path: Path, summary_paths: list[Path], split: str, encoding: str = "utf-8"
) -> pd.DataFrame:
    """The canonical table of line-aligned files: line i of the document file pairs with line i
    of every summary file (several summary files give a ``references`` column)."""
    documents = read_lines(document_path, encoding)
    references = [read_lines(path, encoding) for path in summary_paths]
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


def summary_fields(spec: DatasetSpec) -> list[str]:
    """The names of the summary fields (``fields.summary``), as a list."""
    names = spec.fields.summary
    return [names] if isinstance(names, str) else list(names)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _references(record: dict[str, Any], names: list[str], where: str) -> list[str]:
    references: list[str] = []
    for position, name in enumerate(names):
        # An empty or null extra field is a row with fewer references: a CSV cell cannot be left
        # out any other way. The first field is the summary, kept whatever it holds, so that a
        # blank one is caught by validation rather than replaced by the next reference.
        if position > 0 and name in record and _is_blank(record[name]):
            continue
        value = text_field(record, name, where, several=True)
        references.extend([value] if isinstance(value, str) else value)
    return references


def _record_row(
    record: dict[str, Any], spec: DatasetSpec, where: str, fallback_id: str
) -> dict[str, Any]:
    fields = spec.fields
    document = text_field(record, fields.document, where)
    references = _references(record, summary_fields(spec), where)
    row_id = fallback_id if fields.id is None else str(field_value(record, fields.id, where))
    return {"id": row_id, "document": document, "summary": references[0], "references": references}


def _records_table(rows: list[dict[str, Any]], spec: DatasetSpec) -> pd.DataFrame:
    """The canonical table of records; ``references`` only where a row can have several, the
    shape :func:`read_parallel_text` gives several summary files."""
    several = len(summary_fields(spec)) > 1 or any(len(row["references"]) > 1 for row in rows)
    columns = [*COLUMNS, "references"] if several else COLUMNS
    return pd.DataFrame(rows, columns=columns)


def read_jsonl(path: Path, spec: DatasetSpec, split: str) -> pd.DataFrame:
    """The canonical table of a JSON Lines split; ids default to the line number."""
    rows = [
        _record_row(record, spec, f"{path}, line {number}", f"{split}-{number:07d}")
        for number, record in enumerate(read_json_lines(path, spec.encoding), start=1)
    ]
    return _records_table(rows, spec)


def _check_field_count(record: dict[Any, Any], header: list[str], where: str) -> None:
    """A row must have as many fields as the header. ``csv.DictReader`` would file extra fields
    under the key None and fill missing ones with None: a row read askew, silently or as a
    puzzling "got NoneType" further on."""
    extra = record.get(None) or []
    missing = [name for name in header if record.get(name) is None]
    if not extra and not missing:
        return
    count = len(header) + len(extra) - len(missing)
    hint = (
        f"no value for {', '.join(missing)}"
        if missing
        else "a field that holds a comma must be quoted"
    )
    raise DataError(f"{where}: {count} field(s), but the header (line 1) has {len(header)}; {hint}")


def read_csv(path: Path, spec: DatasetSpec, split: str) -> pd.DataFrame:
    """The canonical table of a CSV split with a header row (quoted fields may span lines)."""
    reader = csv.DictReader(io.StringIO(read_text(path, spec.encoding), newline=""))
    rows = []
    try:
        header = reader.fieldnames or []
        wanted = [spec.fields.document, *summary_fields(spec)]
        if spec.fields.id is not None:
            wanted.append(spec.fields.id)
        missing = [name for name in wanted if name not in header]
        if missing:
            raise DataError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
        for record in reader:
            where = f"{path}, line {reader.line_num}"
            _check_field_count(record, header, where)
            rows.append(_record_row(record, spec, where, f"{split}-{len(rows):07d}"))
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: malformed CSV: {exc}") from None
    return _records_table(rows, spec)


def read_split(spec: DatasetSpec, split: str) -> pd.DataFrame:
    """Read one split of a dataset as the canonical table, whatever its format."""
    root = resolve_data_path(spec.path)
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
