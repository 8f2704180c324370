"""Parquet input (``dataset.format: parquet``): the field mapping, list and multi-reference rules
and messages of JSON Lines, one file or the shards of a split, on real SAMSum and CNN/DailyMail
rows written out as a model hub exports them."""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from summarizer.config.data import DatasetSpec
from summarizer.data.tables import read_split
from summarizer.errors import DataError


def first_records(path: Path, count: int) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in islice(handle, count)]


def spec(root: Path, file: str, fmt: str = "parquet", **fields: Any) -> DatasetSpec:
    return DatasetSpec(
        name="toy",
        path=root,
        format=fmt,
        splits={"train": {"file": file}, "test": {"file": file}},
        fields={"document": "document", "summary": "summary", **fields},
    )


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def test_samsum_as_parquet_shards_reads_as_its_json_lines(
    tmp_path: Path, datasets_dir: Path
) -> None:
    source = datasets_dir / "samsum" / "train.jsonl"
    records = first_records(source, 30)
    (tmp_path / "jsonl").mkdir()
    (tmp_path / "jsonl" / "train.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
    )
    # As a hub exports a split: shards named so that name order is row order.
    for index, start in enumerate(range(0, 30, 12)):
        write_parquet(
            tmp_path / "parquet" / "data" / f"train-{index:05d}-of-00003.parquet",
            records[start : start + 12],
        )
    fields = {"id": "id", "document": "dialogue"}
    from_jsonl = read_split(spec(tmp_path / "jsonl", "train.jsonl", "jsonl", **fields), "train")
    from_parquet = read_split(spec(tmp_path / "parquet", "data/train-*.parquet", **fields), "train")
    assert from_parquet.equals(from_jsonl)
    assert len(from_parquet) == 30 and from_parquet["id"].iloc[0] == records[0]["id"]
    assert "\n" in from_parquet["document"].iloc[0]  # dialogue turns kept


def test_cnndm_sentence_lists_and_multi_reference_columns(
    tmp_path: Path, datasets_dir: Path
) -> None:
    records = first_records(datasets_dir / "cnndm" / "test.jsonl.gz", 5)
    assert all(isinstance(r["highlights"], list) for r in records)
    # A list<string> column is one text's sentences (joined by newlines), as in JSON Lines.
    path = write_parquet(tmp_path / "test.parquet", records)
    fields = {"document": "article", "summary": "highlights"}
    table = read_split(spec(tmp_path, path.name, **fields), "test")
    assert table["summary"].tolist() == ["\n".join(r["highlights"]) for r in records]
    assert list(table.columns) == ["id", "document", "summary"]
    assert table["id"].tolist() == [f"test-{i:07d}" for i in range(5)]  # position by default

    # list<list<string>>: several references; several summary columns: the same.
    several = [{"document": "a document", "summary": [["one", "ref"], ["two"]]}]
    write_parquet(tmp_path / "refs.parquet", several)
    assert read_split(spec(tmp_path, "refs.parquet"), "test")["references"].tolist() == [
        ["one\nref", "two"]
    ]
    columns = [{"document": "a document", "s1": "first", "s2": None, "s3": "third"}]
    write_parquet(tmp_path / "columns.parquet", columns)
    table = read_split(spec(tmp_path, "columns.parquet", summary=["s1", "s2", "s3"]), "test")
    assert table["references"].tolist() == [["first", "third"]]  # a null extra: one fewer


def test_errors_name_the_file_the_row_and_the_field(tmp_path: Path) -> None:
    good = {"id": 7, "document": "a document", "summary": "a summary"}
    write_parquet(tmp_path / "ok.parquet", [good])
    assert read_split(spec(tmp_path, "ok.parquet", id="id"), "train")["id"].tolist() == ["7"]

    with pytest.raises(DataError, match=r"ok\.parquet: missing column\(s\) headline \(columns: "):
        read_split(spec(tmp_path, "ok.parquet", summary="headline"), "train")
    write_parquet(tmp_path / "null.parquet", [good, {**good, "summary": None}])
    with pytest.raises(
        DataError, match=r"null\.parquet, row 2: field 'summary' is null; it must be a string"
    ):
        read_split(spec(tmp_path, "null.parquet"), "train")
    write_parquet(tmp_path / "number.parquet", [{**good, "document": 3}])
    with pytest.raises(DataError, match=r"number\.parquet, row 1: field 'document' must be"):
        read_split(spec(tmp_path, "number.parquet"), "train")
    write_parquet(tmp_path / "null_id.parquet", [{**good, "id": None}])
    with pytest.raises(DataError, match=r"null_id\.parquet, row 1: field 'id' is null"):
        read_split(spec(tmp_path, "null_id.parquet", id="id"), "train")

    (tmp_path / "fake.parquet").write_text("id,document\n1,text\n")
    with pytest.raises(DataError, match=r"fake\.parquet: not a readable Parquet file"):
        read_split(spec(tmp_path, "fake.parquet"), "train")
    with pytest.raises(DataError, match=r"missing\.parquet: file not found"):
        read_split(spec(tmp_path, "missing.parquet"), "train")
    with pytest.raises(DataError, match=r"train-\*\.parquet: no file matches this pattern"):
        read_split(spec(tmp_path, "train-*.parquet"), "train")
    no_rows = {name: pa.array([], pa.string()) for name in ("document", "summary")}
    pq.write_table(pa.table(no_rows), tmp_path / "empty.parquet")
    with pytest.raises(DataError, match=r"split 'train' of 'toy' is empty"):
        read_split(spec(tmp_path, "empty.parquet"), "train")
