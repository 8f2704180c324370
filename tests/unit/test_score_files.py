"""Predictions and references read from files for ``summarizer score``: text lines, JSON Lines,
gzip, several reference files, and errors that name the file and line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from summarizer.errors import DataError
from summarizer.evaluation.files import read_texts, score_files
from summarizer.evaluation.scoring import ScoringOptions
from tests.conftest import DATASETS

NO_CI = ScoringOptions(bootstrap_samples=0)


def test_read_text_lines_keeps_empty_lines_and_handles_crlf_and_gzip(tmp_path: Path) -> None:
    plain = tmp_path / "pred.txt"
    plain.write_bytes(b"first line\r\n\r\nthird\x0cline\n")
    # The empty middle line is an empty prediction; a form feed does not split a line.
    assert read_texts(plain) == ["first line", "", "third\x0cline"]
    packed = tmp_path / "pred.txt.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as fh:
        fh.write("a\nb")
    assert read_texts(packed) == ["a", "b"]
    separated = tmp_path / "sep.txt"
    separated.write_text("one .<q>two .\nthree .\n", encoding="utf-8")
    assert read_texts(separated, sentence_separator="<q>") == ["one .\ntwo .", "three ."]


def test_read_jsonl_string_list_and_multi_reference(tmp_path: Path) -> None:
    path = tmp_path / "refs.jsonl.gz"
    rows = [{"s": "one"}, {"s": ["sent one .", "sent two ."]}, {"s": [["r1 a", "r1 b"], ["r2"]]}]
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n")
    assert read_texts(path, "s") == [["one"], ["sent one .\nsent two ."], ["r1 a\nr1 b", "r2"]]
    single = tmp_path / "single.jsonl"
    single.write_text('{"s": "x\\ny"}\n{"s": ["z"]}\n', encoding="utf-8")
    assert read_texts(single, "s") == ["x\ny", "z"]


@pytest.mark.parametrize(
    ("name", "content", "field", "message"),
    [
        ("bad.txt", b"fine\n\xff\xfe broken\n", None, r"bad\.txt, line 2: cannot decode as utf-8"),
        ("bad.jsonl", b'{"s": "a"}\n[1, 2]\n', "s", r"bad\.jsonl, line 2: expected a JSON object"),
        (
            "bad.jsonl",
            b'{"s": "a"}\n{"s": "b"}\n{"t": "c"}\n',
            "s",
            r"bad\.jsonl, line 3: missing field 's' \(keys: t\)",
        ),
        ("bad.jsonl", b'{"s": "a"}\n{"s": 3}\n', "s", r"bad\.jsonl, line 2: field 's' must be"),
        ("bad.jsonl", b'{"s": "a"}\n{"s": \n', "s", r"bad\.jsonl, line 2: not valid JSON"),
        ("bad.jsonl", b'{"s": "a"}\n\n{"s": "b"}\n', "s", r"bad\.jsonl, line 2: blank line"),
        ("bad.jsonl", b'{"s": "a"}\n', None, r"bad\.jsonl: a JSON Lines file needs"),
        ("bad.txt.gz", b"not gzip at all", None, r"bad\.txt\.gz: cannot read"),
    ],
)
def test_read_texts_bad_input_names_file_and_line(
    tmp_path: Path, name: str, content: bytes, field: str | None, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_texts(path, field)


def test_read_texts_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.txt: file not found"):
        read_texts(tmp_path / "nope.txt")


def test_score_files_several_reference_files(tmp_path: Path) -> None:
    (tmp_path / "pred.txt").write_text("the cat sat\n\n", encoding="utf-8")
    (tmp_path / "ref0.txt").write_text("a dog ran\nsomething\n", encoding="utf-8")
    (tmp_path / "ref1.txt").write_text("the cat sat\nelse\n", encoding="utf-8")
    scores = score_files(
        tmp_path / "pred.txt", [tmp_path / "ref0.txt", tmp_path / "ref1.txt"], options=NO_CI
    )
    assert scores.n_examples == 2  # the empty second prediction is kept
    assert scores.per_example[0]["rouge1_f"] == pytest.approx(100.0)  # best of the two refs
    assert scores.mean["rouge1_f"] == pytest.approx(50.0)


def test_score_files_jsonl_matches_text(tmp_path: Path) -> None:
    (tmp_path / "pred.jsonl").write_text(
        '{"id": 1, "summary": ["pig cow", "cat dog"]}\n', encoding="utf-8"
    )
    (tmp_path / "ref.jsonl").write_text('{"id": 1, "h": "cat dog\\npig cow"}\n', encoding="utf-8")
    scores = score_files(
        tmp_path / "pred.jsonl",
        [tmp_path / "ref.jsonl"],
        prediction_field="summary",
        reference_field="h",
        options=NO_CI,
    )
    assert scores.mean["rougeLsum_f"] == pytest.approx(100.0)
    assert scores.mean["rougeL_f"] == pytest.approx(50.0)


def test_score_files_count_mismatch_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "pred.txt").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "ref.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pred\.txt has 3 .*ref\.txt has 2: line 3 of .*pred\.txt"):
        score_files(tmp_path / "pred.txt", [tmp_path / "ref.txt"], options=NO_CI)


def test_score_files_rejects_multi_text_predictions(tmp_path: Path) -> None:
    (tmp_path / "pred.jsonl").write_text('{"s": [["a"], ["b"]]}\n', encoding="utf-8")
    (tmp_path / "ref.txt").write_text("a\n", encoding="utf-8")
    with pytest.raises(DataError, match="one text per line"):
        score_files(tmp_path / "pred.jsonl", [tmp_path / "ref.txt"], prediction_field="s")


def test_score_command_names_the_tokenizer_for_text_it_would_drop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from summarizer.cli import app

    monkeypatch.chdir(tmp_path)  # no params.yaml: the built-in scoring defaults
    with open(DATASETS / "tatoeba_cmn" / "cmn.txt", encoding="utf-8-sig") as handle:
        chinese = [next(handle).split("\t")[1] for _ in range(250)][200:]
    Path("ref.txt").write_text("\n".join(chinese) + "\n", encoding="utf-8")
    Path("pred.txt").write_text("\n".join(chinese) + "\n", encoding="utf-8")

    # Was a table of 0.00 and exit 0: the default tokenizer keeps ASCII letters and digits only.
    refused = CliRunner().invoke(app, ["score", "pred.txt", "ref.txt", "--output", "m.json"])
    assert refused.exit_code == 1
    assert "--tokenizer unicode" in " ".join(refused.output.split())
    assert not Path("m.json").exists()

    scored = CliRunner().invoke(
        app, ["score", "pred.txt", "ref.txt", "--tokenizer", "unicode", "--output", "m.json"]
    )
    assert scored.exit_code == 0, scored.output
    metrics = json.loads(Path("m.json").read_text(encoding="utf-8"))
    assert metrics["rouge1_f"] == metrics["rouge2_f"] == metrics["rougeL_f"] == 100.0
