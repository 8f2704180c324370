"""Readers of text files (lines, JSON Lines) and of the text fields their records hold.

Ingest (through :mod:`summarizer.data.tables`), ``summarize`` (documents) and ``score``
(predictions and references) all read files through this module, so one set of rules and messages
holds for all of them:

* **Decoding** is strict: a silently replaced byte would reach the model as U+FFFD. ``.gz`` files
  are read transparently and a leading byte-order mark is dropped.
* **Lines** are split on ``\\n`` only (``str.splitlines`` would also split on a form feed or U+2028
  inside a text and shift the alignment of parallel files); a ``\\r`` before the ``\\n`` is
  dropped and a final newline does not add a line. An empty line is kept: whether it is allowed
  (an empty prediction) or not (an empty document) is the caller's rule.
* **JSON Lines**: every line is one JSON object. A blank line is an error, never skipped: skipping
  it would silently shift every later record against a line-aligned file.
* **Text fields** hold a string or a list of sentences, joined by :func:`join_sentences`.

Every error is a :class:`~summarizer.errors.DataError` that names the file and the line, so a
broken file can be found and fixed, not guessed at.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from summarizer.errors import DataError

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
    if value is None:  # JSON null, an empty Parquet cell
        raise DataError(f"{where}: field '{name}' is null; it must be {expected}")
    raise DataError(f"{where}: field '{name}' must be {expected}, got {type(value).__name__}")
