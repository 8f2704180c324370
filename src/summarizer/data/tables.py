"""The canonical table ingest builds from one split of a dataset, whatever its format: line-aligned
text files (``parallel_text``), JSON Lines, CSV and TSV with a header row (or the column names
in ``dataset.columns``), or Parquet (one file or the shards of a split).

The table has the columns ``id``, ``document`` and ``summary``. **Several references** (several
summary files, several ``fields.summary`` names, or a summary field holding a list of sentence
lists) give it a ``references`` column, a list of texts per row, whatever the format; ``summary``
is then the first reference, which is what validation checks and training learns from, and
evaluation scores against all of them.

Files are read by :mod:`summarizer.data.formats`, with its rules and messages; every error is a
:class:`~summarizer.errors.DataError` that names the file and the line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd

from summarizer.config.data import DatasetSpec, SplitFiles
from summarizer.data.formats import field_value, read_json_lines, read_lines, read_text, text_field
from summarizer.errors import DataError
from summarizer.project import resolve_data_path

COLUMNS = ["id", "document", "summary"]


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


def _check_columns(header: list[str], spec: DatasetSpec, where: str) -> None:
    """Every column the field mapping names must be in ``header``."""
    wanted = [spec.fields.document, *summary_fields(spec)]
    if spec.fields.id is not None:
        wanted.append(spec.fields.id)
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {', '.join(missing)} (columns: {', '.join(header)})"
        )


def read_csv(path: Path, spec: DatasetSpec, split: str) -> pd.DataFrame:
    """The canonical table of a CSV split with a header row, or the names in
    ``dataset.columns`` (quoted fields may span lines)."""
    text = io.StringIO(read_text(path, spec.encoding), newline="")
    reader = csv.DictReader(text, fieldnames=spec.columns)
    rows = []
    try:
        header = list(reader.fieldnames or [])
        _check_columns(header, spec, "dataset.columns" if spec.columns else f"{path}, line 1")
        for record in reader:
            where = f"{path}, line {reader.line_num}"
            _check_field_count(record, header, where)
            rows.append(_record_row(record, spec, where, f"{split}-{len(rows):07d}"))
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: malformed CSV: {exc}") from None
    return _records_table(rows, spec)


def read_tsv(path: Path, spec: DatasetSpec, split: str) -> pd.DataFrame:
    """The canonical table of a tab-separated split: one row a line, fields split on tabs, no
    quoting (a quote is text), a header row or the names in ``dataset.columns``. A blank line is
    an error, as in JSON Lines: skipping it would hide a broken file."""
    lines = read_lines(path, spec.encoding)
    if spec.columns is not None:
        header, first = list(spec.columns), 1
        _check_columns(header, spec, "dataset.columns")
    else:
        if not lines:
            raise DataError(f"{path}: empty file, expected a header row")
        header, first = lines[0].split("\t"), 2
        _check_columns(header, spec, f"{path}, line 1")
    rows = []
    for number, line in enumerate(lines[first - 1 :], start=first):
        where = f"{path}, line {number}"
        if not line.strip():
            raise DataError(f"{where}: blank line, expected {len(header)} tab-separated fields")
        values = line.split("\t")
        if len(values) != len(header):
            raise DataError(
                f"{where}: {len(values)} tab-separated field(s), but there are {len(header)} "
                f"columns ({', '.join(header)})"
            )
        record = dict(zip(header, values, strict=True))
        rows.append(_record_row(record, spec, where, f"{split}-{len(rows):07d}"))
    return _records_table(rows, spec)


def read_parquet(paths: list[Path], spec: DatasetSpec, split: str) -> pd.DataFrame:
    """The canonical table of a Parquet split: one file, or its shards in the order given (ids
    default to the row's position in the split). Columns are fields, by the rules of JSON Lines:
    a list of strings is one text's sentences, a list of such lists several references."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
        _check_columns(list(schema.names), spec, str(path))
        wanted = [spec.fields.document, *summary_fields(spec)]
        wanted += [spec.fields.id] if spec.fields.id is not None else []
        try:
            records = pq.read_table(path, columns=list(dict.fromkeys(wanted))).to_pylist()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: cannot read its columns ({exc})") from None
        for number, record in enumerate(records, start=1):
            where = f"{path}, row {number}"
            if spec.fields.id is not None and record[spec.fields.id] is None:
                raise DataError(f"{where}: field '{spec.fields.id}' is null, expected an id")
            rows.append(_record_row(record, spec, where, f"{split}-{len(rows):07d}"))
    return _records_table(rows, spec)


def split_files(root: Path, pattern: str, format: str) -> list[Path]:
    """The files of one split: ``pattern`` itself, or for Parquet every file it matches as a glob
    (shards), in name order; an error names the pattern when nothing matches."""
    if format != "parquet" or not any(char in pattern for char in "*?["):
        return [root / pattern]
    shards = sorted(path for path in root.glob(pattern) if path.is_file())
    if not shards:
        raise DataError(f"{root / pattern}: no file matches this pattern")
    return shards


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
    elif spec.format == "parquet":
        source = root / str(files.file)
        table = read_parquet(split_files(root, str(files.file), spec.format), spec, split)
    else:
        source = root / str(files.file)
        reader = read_tsv if spec.format == "tsv" else read_csv
        table = reader(source, spec, split)
    if table.empty:
        raise DataError(f"{source}: split '{split}' of '{spec.name}' is empty")
    return table
