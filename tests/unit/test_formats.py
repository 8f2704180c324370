"""Readers and the ingest stage: every format, every bad input named by file and line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from summarizer.config.data import DatasetSpec, IngestParams
from summarizer.data.formats import (
    is_json_lines,
    join_sentences,
    read_json_lines,
    read_lines,
    text_field,
)
from summarizer.data.ingest import build_splits
from summarizer.data.tables import read_split
from summarizer.errors import DataError


def parallel_spec(root: Path, **splits) -> DatasetSpec:
    splits = splits or {
        "train": {"document": "train.src", "summary": "train.tgt"},
        "test": {"document": "test.src", "summary": "test.tgt"},
    }
    return DatasetSpec(name="toy", path=root, format="parallel_text", splits=splits)


def jsonl_spec(root: Path, train: str = "train.jsonl", **fields) -> DatasetSpec:
    return DatasetSpec(
        name="toy",
        path=root,
        format="jsonl",
        splits={"train": {"file": train}, "test": {"file": "test.jsonl"}},
        fields={"id": "id", "document": "dialogue", "summary": "summary", **fields},
    )


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list, compress: bool = False) -> Path:
    text = "".join(json.dumps(record) + "\n" for record in records)
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------- lines
def test_lines_split_on_newline_only_without_bom_or_cr(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(b"\xef\xbb\xbffirst\r\n\r\nthird\x0cstill third\n")
    # The empty line stays (the caller decides about it); a form feed does not split a line.
    assert read_lines(path) == ["first", "", "third\x0cstill third"]
    path.write_text("a\u2028b\nc", encoding="utf-8")  # no final newline: still two lines
    assert read_lines(path) == ["a\u2028b", "c"]
    path.write_bytes(b"")
    assert read_lines(path) == []
    packed = tmp_path / "lines.txt.gz"
    with gzip.open(packed, "wb") as handle:
        handle.write(b"x\ny\n")
    assert read_lines(packed) == ["x", "y"]


def test_lines_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.txt: file not found"):
        read_lines(tmp_path / "nope.txt")
    with pytest.raises(DataError, match=r": not a regular file"):
        read_lines(tmp_path)
    (tmp_path / "bad.txt.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"bad\.txt\.gz: cannot read"):
        read_lines(tmp_path / "bad.txt.gz")
    (tmp_path / "bad.txt").write_bytes(b"ok\nok\n\xff\n")
    with pytest.raises(DataError, match=r"bad\.txt, line 3: cannot decode as utf-8: .* \(byte 6\)"):
        read_lines(tmp_path / "bad.txt")


# -------------------------------------------------------------------------------- JSON Lines
def test_json_lines_blank_line_is_an_error_not_skipped(tmp_path: Path) -> None:
    # Skipping it would shift every later record against a line-aligned file.
    path = tmp_path / "records.jsonl"
    path.write_text('{"a": 1}\n  \n{"a": 2}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"records\.jsonl, line 2: blank line, expected a JSON"):
        list(read_json_lines(path))
    path.write_text('{"a": 1}\r\n{"a": 2}\r\n', encoding="utf-8")
    assert list(read_json_lines(path)) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl", True),
        ("a.NDJSON", True),
        ("a.json.gz", True),
        ("a.jsonl.gz", True),
        ("a.txt", False),
        ("a.txt.gz", False),
        ("jsonl", False),
    ],
)
def test_is_json_lines_by_suffix(name: str, expected: bool) -> None:
    assert is_json_lines(Path(name)) is expected


def test_join_sentences_is_lossless() -> None:
    # Nothing dropped or re-spaced: ingest keeps raw text, and ROUGE ignores both itself.
    assert join_sentences(["a  b ", "", "c\nd"]) == "a  b \n\nc\nd"
    assert join_sentences([]) == ""


def test_text_field_forms_and_messages() -> None:
    record = {"s": "x", "l": ["one .", "two ."], "m": [["r1 a", "r1 b"], ["r2"]], "n": 3}
    assert text_field(record, "s", "f, line 1") == "x"
    assert text_field(record, "l", "f, line 1") == "one .\ntwo ."
    assert text_field(record, "m", "f, line 1", several=True) == ["r1 a\nr1 b", "r2"]
    with pytest.raises(DataError, match=r"f, line 1: field 'm' must be a string or a list of str"):
        text_field(record, "m", "f, line 1")
    with pytest.raises(DataError, match=r"field 'n' must be a string, a list of sentence strings"):
        text_field(record, "n", "f, line 1", several=True)
    with pytest.raises(DataError, match=r"f, line 1: missing field 'x' \(keys: l, m, n, s\)"):
        text_field(record, "x", "f, line 1")


# ------------------------------------------------------------------------------ parallel text
def test_parallel_text_reads_real_gigaword_slice(tmp_path: Path, datasets_dir: Path) -> None:
    from tests.conftest import write_gigaword_slice

    root = write_gigaword_slice(tmp_path / "gigaword", train_pairs=20, test_pairs=5)
    spec = parallel_spec(
        root,
        train={"document": "train.article.txt", "summary": "train.title.txt"},
        test={"document": "test.article.txt", "summary": "test.title.txt"},
    )
    table = read_split(spec, "train")
    assert list(table.columns) == ["id", "document", "summary"]
    assert len(table) == 20
    assert table["summary"].iloc[0] == "rock shelters and cave paintings found in central india"
    assert table["id"].is_unique


def test_parallel_text_several_references_from_duc(datasets_dir: Path) -> None:
    spec = DatasetSpec(
        name="duc2004",
        path=datasets_dir / "duc2004",
        format="parallel_text",
        splits={
            "train": {"document": "input.txt", "summary": "task1_ref0.txt"},
            "test": {
                "document": "input.txt",
                "summary": [f"task1_ref{i}.txt" for i in range(4)],
            },
        },
    )
    table = read_split(spec, "test")
    assert len(table) == 500
    assert all(len(refs) == 4 for refs in table["references"])
    assert (table["summary"] == table["references"].str[0]).all()


def test_parallel_text_line_count_mismatch(tmp_path: Path) -> None:
    write_lines(tmp_path / "train.src", ["a b c", "d e f"])
    write_lines(tmp_path / "train.tgt", ["a"])
    with pytest.raises(DataError, match=r"train\.tgt: has 1 lines but .*train\.src has 2"):
        read_split(parallel_spec(tmp_path), "train")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="dataset directory for 'toy' not found"):
        read_split(parallel_spec(tmp_path / "nowhere"), "train")


def test_missing_file(tmp_path: Path) -> None:
    write_lines(tmp_path / "train.src", ["a b c"])
    with pytest.raises(DataError, match=r"train\.tgt: file not found"):
        read_split(parallel_spec(tmp_path), "train")


def test_undecodable_bytes_named_with_line(tmp_path: Path) -> None:
    (tmp_path / "train.src").write_bytes(b"good line\nbad \xff\xfe line\n")
    write_lines(tmp_path / "train.tgt", ["a", "b"])
    with pytest.raises(DataError, match=r"train\.src, line 2: cannot decode as utf-8"):
        read_split(parallel_spec(tmp_path), "train")


def test_empty_split(tmp_path: Path) -> None:
    (tmp_path / "train.src").write_text("", encoding="utf-8")
    (tmp_path / "train.tgt").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="split 'train' of 'toy' is empty"):
        read_split(parallel_spec(tmp_path), "train")


# ------------------------------------------------------------------------------------- jsonl
def test_jsonl_reads_real_samsum_slice(tmp_path: Path, datasets_dir: Path) -> None:
    with open(datasets_dir / "samsum" / "train.jsonl", encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(10)]
    (tmp_path / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    table = read_split(jsonl_spec(tmp_path), "train")
    assert len(table) == 10
    assert table["id"].iloc[0] == "13818513"
    assert "\n" in table["document"].iloc[0]  # dialogue turns survive


def test_gzipped_jsonl_with_sentence_lists_from_cnndm(tmp_path: Path, datasets_dir: Path) -> None:
    with gzip.open(datasets_dir / "cnndm" / "val.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = [json.loads(next(handle)) for _ in range(3)]
    write_jsonl(tmp_path / "train.jsonl.gz", records, compress=True)
    spec = jsonl_spec(tmp_path, train="train.jsonl.gz", document="article", summary="highlights")
    table = read_split(spec, "train")
    assert len(table) == 3
    # A list of sentences becomes one newline-separated summary (what ROUGE-Lsum expects).
    assert table["summary"].iloc[0] == "\n".join(records[0]["highlights"])


def test_jsonl_summary_field_holding_several_references(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "a", "dialogue": "d one", "summary": [["r1 s1", "r1 s2"], ["r2"]]},
            {"id": "b", "dialogue": "d two", "summary": "only one"},
        ],
    )
    table = read_split(jsonl_spec(tmp_path), "train")
    assert table["references"].tolist() == [["r1 s1\nr1 s2", "r2"], ["only one"]]
    assert table["summary"].tolist() == ["r1 s1\nr1 s2", "only one"]


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", [{"id": 1, "dialogue": "a", "summary": "b"}, [1, 2]])
    with pytest.raises(DataError, match=r"train\.jsonl, line 2: expected a JSON object, got list"):
        read_split(jsonl_spec(tmp_path), "train")


def test_jsonl_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('{"id": 1}\n{not json\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl, line 1: missing field 'dialogue'"):
        read_split(jsonl_spec(tmp_path), "train")
    (tmp_path / "train.jsonl").write_text(
        '{"id": 1, "dialogue": "a", "summary": "b"}\n{not json\n', encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"train\.jsonl, line 2: not valid JSON"):
        read_split(jsonl_spec(tmp_path), "train")


def test_jsonl_missing_field(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", [{"id": "x", "dialogue": "hello there"}])
    with pytest.raises(DataError, match=r"train\.jsonl, line 1: missing field 'summary'"):
        read_split(jsonl_spec(tmp_path), "train")


def test_jsonl_wrong_field_type(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", [{"id": "x", "dialogue": 3, "summary": "s"}])
    with pytest.raises(DataError, match="field 'dialogue' must be a string or a list of strings"):
        read_split(jsonl_spec(tmp_path), "train")


def test_jsonl_undecodable_gzip(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "train.jsonl.gz", "wb") as handle:
        handle.write(b'{"id": 1, "dialogue": "a", "summary": "b"}\n{"id": "\xff"}\n')
    with pytest.raises(DataError, match=r"train\.jsonl\.gz, line 2: cannot decode"):
        read_split(jsonl_spec(tmp_path, train="train.jsonl.gz"), "train")


# --------------------------------------------------------------------------------------- csv
def test_csv_reader_with_quoted_multiline_fields(tmp_path: Path) -> None:
    pd.DataFrame(
        {"uid": ["a", "b"], "text": ["line one\nline two", "x, y"], "abstract": ["s1", "s2"]}
    ).to_csv(tmp_path / "train.csv", index=False)
    spec = DatasetSpec(
        name="toy",
        path=tmp_path,
        format="csv",
        splits={"train": {"file": "train.csv"}, "test": {"file": "train.csv"}},
        fields={"id": "uid", "document": "text", "summary": "abstract"},
    )
    table = read_split(spec, "train")
    assert table.to_dict("records") == [
        {"id": "a", "document": "line one\nline two", "summary": "s1"},
        {"id": "b", "document": "x, y", "summary": "s2"},
    ]


def test_csv_missing_column(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("uid,text\na,b\n", encoding="utf-8")
    spec = DatasetSpec(
        name="toy",
        path=tmp_path,
        format="csv",
        splits={"train": {"file": "train.csv"}, "test": {"file": "train.csv"}},
        fields={"id": "uid", "document": "text", "summary": "abstract"},
    )
    with pytest.raises(DataError, match=r"train\.csv, line 1: missing column\(s\) abstract"):
        read_split(spec, "train")


def test_csv_several_summary_columns(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text(
        "uid,text,s1,s2\na,doc one,first,second\nb,doc two,alone,\n", encoding="utf-8"
    )
    spec = DatasetSpec(
        name="toy",
        path=tmp_path,
        format="csv",
        splits={"train": {"file": "train.csv"}, "test": {"file": "train.csv"}},
        fields={"id": "uid", "document": "text", "summary": ["s1", "s2", "s3"]},
    )
    with pytest.raises(DataError, match=r"train\.csv, line 1: missing column\(s\) s3"):
        read_split(spec, "train")
    spec = spec.model_copy(
        update={"fields": spec.fields.model_copy(update={"summary": ["s1", "s2"]})}
    )
    table = read_split(spec, "train")
    # An empty cell is a row with fewer references.
    assert table["references"].tolist() == [["first", "second"], ["alone"]]
    assert table["summary"].tolist() == ["first", "alone"]


# ------------------------------------------------------------------------------------ ingest
def test_ingest_dedupes_removes_test_overlap_and_carves_validation(tmp_path: Path) -> None:
    train_docs = [f"document number {i} about things" for i in range(40)]
    train_sums = [f"summary {i}" for i in range(40)]
    train_docs += [train_docs[0], "the test document"]  # a duplicate pair and a leaked document
    train_sums += [train_sums[0], "whatever"]
    write_lines(tmp_path / "train.src", train_docs)
    write_lines(tmp_path / "train.tgt", train_sums)
    write_lines(tmp_path / "test.src", ["the test document", "another test document"])
    write_lines(tmp_path / "test.tgt", ["t1", "t2"])

    params = IngestParams(validation_size=0.25, seed=7)
    tables, report = build_splits(parallel_spec(tmp_path), params)

    assert report["removed"]["train"] == {"duplicate_pairs": 1, "test_overlap": 1}
    assert report["removed_total"] == 2
    assert len(tables["train"]) == 30 and len(tables["validation"]) == 10
    assert not set(tables["train"]["document"]) & set(tables["test"]["document"])
    assert not set(tables["train"]["id"]) & set(tables["validation"]["id"])
    again, _ = build_splits(parallel_spec(tmp_path), params)
    assert again["validation"]["id"].tolist() == tables["validation"]["id"].tolist()


def test_dataset_spec_rejects_wrong_files_for_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format jsonl needs 'file'"):
        DatasetSpec(
            name="x",
            path=tmp_path,
            format="jsonl",
            splits={"train": {"document": "a"}, "test": {"file": "b"}},
        )
