"""Several references per example in JSON Lines and CSV (``fields.summary: [summary1, ...]``):
read into the shape parallel text gives several summary files, carried through ingest and
validation, and scored multi-reference by what the evaluate stage scores with."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from summarizer.config.data import DatasetSpec
from summarizer.config.params import Params
from summarizer.config.paths import Paths
from summarizer.data.tables import read_parallel_text, read_split
from summarizer.errors import DataError
from summarizer.evaluation.inputs import (
    load_split,
    size_entry,
    size_warning,
    split_like_references,
)
from summarizer.evaluation.scoring import ScoringOptions, score_corpus
from summarizer.stages.ingest import run as run_ingest
from summarizer.stages.tokenize import run as run_tokenize
from summarizer.stages.validate import run as run_validate

FIELDS = ["summary1", "summary2", "summary3", "summary4"]


@pytest.fixture(scope="module")
def duc(datasets_dir: Path) -> pd.DataFrame:
    """DUC-2004 as parallel text reads it: real data with four references per document."""
    root = datasets_dir / "duc2004"
    return read_parallel_text(
        root / "input.txt", [root / f"task1_ref{i}.txt" for i in range(4)], split="duc"
    )


def _records(table: pd.DataFrame) -> list[dict[str, str]]:
    return [
        {"id": row.id, "document": row.document, **dict(zip(FIELDS, row.references, strict=True))}
        for row in table.itertuples(index=False)
    ]


def write_duc(root: Path, table: pd.DataFrame, fmt: str) -> DatasetSpec:
    """``table`` split in two and written as JSON Lines or CSV with one column per reference."""
    root.mkdir(parents=True, exist_ok=True)
    for split, part in (("train", table.iloc[:80]), ("test", table.iloc[80:100])):
        path = root / f"{split}.{fmt}"
        if fmt == "jsonl":
            path.write_text("".join(json.dumps(r) + "\n" for r in _records(part)), "utf-8")
        else:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=["id", "document", *FIELDS])
                writer.writeheader()
                writer.writerows(_records(part))
    return DatasetSpec(
        name="duc-multi",
        path=root,
        format=fmt,
        splits={"train": {"file": f"train.{fmt}"}, "test": {"file": f"test.{fmt}"}},
        fields={"id": "id", "document": "document", "summary": FIELDS},
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_several_summary_fields_read_as_parallel_text_reads_several_files(
    tmp_path: Path, duc: pd.DataFrame, fmt: str
) -> None:
    table = read_split(write_duc(tmp_path, duc, fmt), "test")
    expected = duc.iloc[80:100].reset_index(drop=True)
    assert (
        list(table.columns) == list(expected.columns) == ["id", "document", "summary", "references"]
    )
    assert table["references"].map(list).tolist() == expected["references"].map(list).tolist()
    assert (table["summary"] == expected["summary"]).all()  # the first reference: what trains


def test_multi_reference_split_goes_through_the_data_stages_and_is_scored_against_all(
    tmp_path: Path, duc: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_duc(tmp_path / "raw", duc, "jsonl")
    params = Params.model_validate(
        {
            "dataset": spec.model_dump(mode="json"),
            "ingest": {"validation_size": 0.1},
            "validate": {"summary_shorter_mostly": 0.5},
        }
    )
    monkeypatch.chdir(tmp_path)
    run_ingest(params)
    run_validate(params)  # Great Expectations takes the list column in its stride
    run_tokenize(params)

    test = load_split(Paths.interim_split("test"))  # what the evaluate stage scores
    assert test["references"].map(len).eq(4).all()
    # A prediction equal to the fourth reference is perfect under multi-reference scoring,
    # and would not be if only the first (the summary) counted.
    predictions = [refs[3] for refs in test["references"]]
    options = ScoringOptions(rouge_types=["rouge1"], bootstrap_samples=0)
    assert score_corpus(predictions, test["references"].tolist(), options).mean[
        "rouge1_f"
    ] == pytest.approx(100.0)
    assert score_corpus(predictions, test["summary"].tolist(), options).mean["rouge1_f"] < 50


def test_blank_extra_reference_is_a_missing_one_and_a_misspelt_field_is_an_error(
    tmp_path: Path,
) -> None:
    records = [
        {"id": "a", "text": "a long enough document", "s1": "first", "s2": "", "s3": "third"},
        {"id": "b", "text": "another document here", "s1": "only", "s2": None, "s3": "  "},
    ]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    spec = DatasetSpec(
        name="toy",
        path=tmp_path,
        format="jsonl",
        splits={"train": {"file": "train.jsonl"}, "test": {"file": "train.jsonl"}},
        fields={"id": "id", "document": "text", "summary": ["s1", "s2", "s3"]},
    )
    table = read_split(spec, "train")
    assert table["references"].tolist() == [["first", "third"], ["only"]]

    misspelt = spec.model_copy(
        update={"fields": spec.fields.model_copy(update={"summary": ["s1", "s4"]})}
    )
    with pytest.raises(DataError, match=r"train\.jsonl, line 1: missing field 's4'"):
        read_split(misspelt, "train")


def test_test_set_size_is_reported_and_checked_against_the_documented_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert size_warning("gigaword", 1951) is None
    assert size_warning("my-own-data", 12) is None  # nothing documented, nothing to say
    warning = size_warning("cnndm", 11489)
    assert warning is not None
    assert "'cnndm' has 11489 examples but the standard one has 11490" in warning
    assert size_entry("samsum", 819, {}) == {
        "name": "samsum",
        "examples": 819,
        "documented_examples": 819,
        "modified_rows": None,  # no ingest report: nothing known
        "note": None,
    }
    # With ingest.filter_test the ingest report's word goes beside the scores.
    report = {
        "test_set": {
            "source_rows": 11490,
            "rows": 11488,
            "note": "test set modified: 2 of 11490 rows",
        }
    }
    entry = size_entry("cnndm", 11488, report)
    assert entry["modified_rows"] == 2
    assert entry["note"] == "test set modified: 2 of 11490 rows"


def test_predictions_are_split_into_sentences_only_for_multi_sentence_references() -> None:
    prediction = "a man in paris . police arrest . he is charged ."
    headlines = [["man arrested for theft"]]
    highlights = [["police arrest a man in paris .\nhe is charged ."]]
    assert split_like_references([prediction], headlines) == [prediction]
    split = split_like_references([prediction], highlights)
    assert split == ["a man in paris .\npolice arrest .\nhe is charged ."]
    # ROUGE-Lsum then matches sentence by sentence, as in the published CNN/DM numbers.
    options = ScoringOptions(rouge_types=["rougeL", "rougeLsum"], bootstrap_samples=0)
    joined = score_corpus([prediction], highlights, options).mean
    scored = score_corpus(split, highlights, options).mean
    assert scored["rougeLsum_f"] > joined["rougeLsum_f"] == pytest.approx(joined["rougeL_f"])
