"""``summarize`` without a model: its decoding options are DecodeParams', and its documents are
read by the one set of line and JSON Lines rules."""

from __future__ import annotations

import gzip
import inspect
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.cli.summarize import InputFormat, read_documents, summarize
from summarizer.config import DecodeParams
from summarizer.errors import DataError

ROUTING = {
    "text",
    "file",
    "input_format",
    "field",
    "model",
    "trust_model_code",
    "output_format",
    "params_file",
}


def test_decoding_options_are_exactly_decode_params_output_options() -> None:
    parameters = set(inspect.signature(summarize).parameters)
    assert parameters - ROUTING == set(DecodeParams.output_options())


def test_bad_decoding_option_fails_before_any_model_loads(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["summarize", "text", "--min-length", "30", "--model", str(tmp_path / "no-model")],
    )
    assert result.exit_code == 1
    assert "min_length (30) must not exceed max_length (20)" in " ".join(result.output.split())


def test_lines_one_document_each_from_gzip_with_crlf(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"\xef\xbb\xbffirst document\r\nsecond\x0cdocument\n")
    records = read_documents(None, path, InputFormat.auto, "document")
    assert [doc for _, doc in records] == ["first document", "second\x0cdocument"]
    assert records[0][0] == {"document": "first document"}


def test_json_lines_echo_records_and_join_sentence_lists(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    rows = [{"id": 1, "text": "a document"}, {"id": 2, "text": ["one .", "two ."]}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    records = read_documents(None, path, InputFormat.auto, "text")
    assert [record for record, _ in records] == rows
    assert [doc for _, doc in records] == ["a document", "one .\ntwo ."]


@pytest.mark.parametrize(
    ("name", "content", "input_format", "message"),
    [
        ("d.txt", "first\n\nthird\n", InputFormat.auto, r"d\.txt, line 2: empty line"),
        ("d.txt", "", InputFormat.lines, r"d\.txt: no documents"),
        ("d.jsonl", '{"document": "a"}\n\n', InputFormat.auto, r"d\.jsonl, line 2: blank line"),
        ("d.txt", '{"document": 3}\n', InputFormat.jsonl, r"d\.txt, line 1: field 'document' must"),
        ("d.jsonl", '{"document": " "}\n', InputFormat.auto, r"line 1: field 'document' is empty"),
        ("d.jsonl", '{"text": "a"}\n', InputFormat.auto, r"line 1: missing field 'document'"),
        ("d.jsonl", '["a"]\n', InputFormat.auto, r"line 1: expected a JSON object, got list"),
        ("d.jsonl", "{a\n", InputFormat.auto, r"d\.jsonl, line 1: not valid JSON"),
    ],
)
def test_bad_documents_name_file_and_line(
    tmp_path: Path, name: str, content: str, input_format: InputFormat, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_documents(None, path, input_format, "document")


def test_stdin_is_read_by_the_same_rules() -> None:
    result = CliRunner().invoke(app, ["summarize", "--model", "nowhere"], input="doc\n\nother\n")
    assert result.exit_code == 1
    assert "<stdin>, line 2: empty line; expected one document per line" in result.output
    undecodable = CliRunner().invoke(app, ["summarize", "--model", "nowhere"], input=b"\xff\n")
    assert "<stdin>, line 1: cannot decode as utf-8" in undecodable.output
