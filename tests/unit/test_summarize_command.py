"""``summarize``: its decoding options are DecodeParams', a model directory decodes with the ones
it carries unless the command line says otherwise, and its documents are read by the one set of
line and JSON Lines rules."""

from __future__ import annotations

import gzip
import inspect
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.cli.summarize import InputFormat, read_documents, summarize
from summarizer.config.evaluation import DecodeParams
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


@pytest.fixture(scope="module")
def packaged_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained model directory carrying decoding options unlike the defaults."""
    import torch

    from summarizer.config.data import TokenizeParams, VocabParams
    from summarizer.config.training import ModelParams
    from summarizer.data.vocab import Vocab
    from summarizer.model import Seq2Seq
    from summarizer.model_io import save_model_dir
    from summarizer.training import model_config

    vocab = Vocab.build([" ".join(DOCUMENTS).split()], VocabParams(min_freq=1))
    config = model_config(ModelParams(emb_dim=16, hidden_dim=32), len(vocab), len(vocab))
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("project") / "models" / "summarizer"
    tokenize = TokenizeParams(max_source_len=12, max_target_len=8)
    save_model_dir(path, Seq2Seq(config).state_dict(), config, tokenize, vocab, vocab, {})
    PACKAGED.write(path)
    return path


PACKAGED = DecodeParams(beam_size=2, max_length=4, min_length=3, length_penalty="none")
DOCUMENTS = ["the police said a bomb exploded", "on monday in the south", "the country"]


def test_a_model_directory_decodes_with_its_own_options_from_anywhere(
    packaged_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from summarizer.inference import Summarizer

    monkeypatch.chdir(tmp_path)  # no params.yaml here: the directory alone decides
    Path("docs.txt").write_text("".join(d + "\n" for d in DOCUMENTS), encoding="utf-8")
    summarizer = Summarizer.from_dir(packaged_model)

    def summarize_here(*options: str) -> list[str]:
        result = CliRunner().invoke(
            app, ["summarize", "-m", str(packaged_model), "-f", "docs.txt", *options]
        )
        assert result.exit_code == 0, result.output
        return result.stdout.splitlines()

    expected = [s.text for s in summarizer.summarize(DOCUMENTS, PACKAGED)]
    assert summarize_here() == expected
    assert expected != [s.text for s in summarizer.summarize(DOCUMENTS, DecodeParams())]
    # Options given on the command line override the directory's, one by one.
    greedy = PACKAGED.model_copy(update={"beam_size": 1, "max_length": 6})
    assert summarize_here("--beam-size", "1", "--max-length", "6") == [
        s.text for s in summarizer.summarize(DOCUMENTS, greedy)
    ]


def test_options_are_checked_against_the_model_directorys_own(packaged_model: Path) -> None:
    refused = CliRunner().invoke(
        app, ["summarize", "text", "-m", str(packaged_model), "--max-length", "2"]
    )
    assert refused.exit_code == 1
    assert "min_length (3) must not exceed max_length (2)" in " ".join(refused.output.split())


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
