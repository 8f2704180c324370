"""The ingest stage on small hand-made JSON Lines datasets: the test split is a standard set and
stays whole unless ``ingest.filter_test`` says otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from summarizer.config.data import DatasetSpec, IngestParams
from summarizer.config.params import Params
from summarizer.config.paths import Paths
from summarizer.data.ingest import build_splits
from summarizer.stages.ingest import run as run_ingest


def _write(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.write_text(
        "".join(json.dumps({"id": i, "document": d, "summary": s}) + "\n" for i, d, s in rows),
        encoding="utf-8",
    )


def _rows(split: str, count: int) -> list[tuple[str, str, str]]:
    return [
        (f"{split}-{i}", f"{split} document {i} .", f"{split} summary {i}") for i in range(count)
    ]


@pytest.fixture
def spec(tmp_path: Path) -> DatasetSpec:
    """Train, validation and test each with one duplicate pair (the second copy's id noted)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for split, count in (("train", 8), ("validation", 4), ("test", 5)):
        rows = _rows(split, count)
        rows.append((f"{split}-dup", rows[1][1], rows[1][2]))  # the same pair as row 1
        _write(raw / f"{split}.jsonl", rows)
    return DatasetSpec.model_validate(
        {
            "name": "tiny",
            "path": str(raw),
            "format": "jsonl",
            "fields": {"id": "id"},
            "splits": {s: {"file": f"{s}.jsonl"} for s in ("train", "validation", "test")},
        }
    )


def test_test_split_is_kept_whole_and_its_duplicates_reported(spec: DatasetSpec) -> None:
    tables, report = build_splits(spec, IngestParams())

    assert len(tables["test"]) == 6 and "test-dup" in set(tables["test"]["id"])
    # Train and validation are still cleaned.
    assert len(tables["train"]) == 8 and "train-dup" not in set(tables["train"]["id"])
    assert len(tables["validation"]) == 4
    assert report["removed"] == {
        "train": {"duplicate_pairs": 1, "test_overlap": 0},
        "validation": {"duplicate_pairs": 1, "test_overlap": 0},
    }
    assert report["rows"] == {"train": 8, "validation": 4, "test": 6}
    assert report["test_set"] == {
        "filter_test": False,
        "source_rows": 6,
        "rows": 6,
        "modified": False,
        "note": "test set whole: 6 rows",
        "flagged": {"duplicate_pairs": {"count": 1, "ids": ["test-dup"]}},
    }


def test_filter_test_removes_them_and_says_the_test_set_is_modified(spec: DatasetSpec) -> None:
    tables, report = build_splits(spec, IngestParams(filter_test=True))

    assert len(tables["test"]) == 5 and "test-dup" not in set(tables["test"]["id"])
    assert report["removed"]["test"] == {"duplicate_pairs": 1}
    assert report["test_set"]["modified"] is True
    assert report["test_set"]["note"] == "test set modified: 1 of 6 rows"
    assert report["test_set"]["flagged"] == {"duplicate_pairs": {"count": 1, "ids": ["test-dup"]}}


def test_run_ingest_writes_the_test_set_entry(
    spec: DatasetSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.chdir(tmp_path)
    params = Params.model_validate({"dataset": spec.model_dump(mode="json")})
    with caplog.at_level("INFO", logger="summarizer.stages.ingest"):
        run_ingest(params)
    written = json.loads(Paths.ingest_report.read_text(encoding="utf-8"))
    assert written["test_set"]["note"] == "test set whole: 6 rows"
    assert written["removed_total"] == 2
    assert "test: kept 1 row(s) that ingest would remove (duplicate pairs): test-dup" in caplog.text
