"""The data half of the pipeline through a real ``dvc repro`` on a small real Gigaword slice."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace

pytestmark = pytest.mark.slow

DATA_STAGES = ("ingest", "validate", "tokenize", "vocab")


def _ran(output: str, stage: str) -> bool:
    return f"Running stage '{stage}'" in output


@pytest.fixture
def workspace(tmp_path: Path, datasets_dir: Path) -> Workspace:
    raw = write_gigaword_slice(tmp_path / "raw" / "gigaword", train_pairs=400, test_pairs=60)
    return Workspace.create(
        tmp_path / "repo",
        params={"dataset": {"path": str(raw)}, "ingest": {"validation_size": 0.1}},
    )


def test_data_stages_run_once_and_rerun_only_what_changed(workspace: Workspace) -> None:
    first = workspace.dvc("repro", "vocab")
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in DATA_STAGES:
        assert _ran(first.stdout, stage), stage

    root = workspace.root
    splits = {s: pd.read_parquet(root / "data/interim" / f"{s}.parquet") for s in ("train", "test")}
    assert len(splits["test"]) == 60
    validation = pd.read_parquet(root / "data/interim/validation.parquet")
    assert len(splits["train"]) + len(validation) == 400
    processed = pd.read_parquet(root / "data/processed/train.parquet")
    assert list(processed.columns) == ["id", "source", "target"]
    max_source = workspace.params["tokenize"]["max_source_len"]
    assert processed["source"].map(len).max() <= max_source
    assert (root / "data/vocab/source.json").is_file()
    vocab_metrics = json.loads((root / "reports/vocab.json").read_text())
    assert 0 < vocab_metrics["target"]["validation_oov_rate"] < 1
    summary = json.loads((root / "reports/validation/summary.json").read_text())
    assert summary["success"] is True
    assert list((root / "reports/validation/data_docs").rglob("index.html"))

    second = workspace.dvc("repro", "vocab")
    assert second.returncode == 0, second.stderr
    assert not any(_ran(second.stdout, stage) for stage in DATA_STAGES), second.stdout

    workspace.update_params({"validate": {"summary_shorter_mostly": 0.8}})
    third = workspace.dvc("repro", "vocab")
    assert third.returncode == 0, third.stdout + third.stderr
    assert _ran(third.stdout, "validate")
    assert not _ran(third.stdout, "ingest")
    # The validation summary does not change when every expectation still passes, so nothing
    # downstream of it re-runs.
    assert not _ran(third.stdout, "tokenize"), third.stdout


def _plant(path: Path, changes: dict[int, str]) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, text in changes.items():
        lines[number] = text
    path.write_text("\n".join(lines), encoding="utf-8")


def test_planted_defects_stop_the_pipeline_or_are_dropped_and_test_stays_whole(
    workspace: Workspace,
) -> None:
    raw = Path(workspace.params["dataset"]["path"])
    # Train: a blank summary and a control character, both row-level defects.
    _plant(raw / "train.title.txt", {3: "   ", 7: "headline with a \x07 bell"})
    # Test: a U+FFFD and a repeated pair, facts of a standard test set that stay in it.
    titles = (raw / "test.title.txt").read_text(encoding="utf-8").split("\n")
    articles = (raw / "test.article.txt").read_text(encoding="utf-8").split("\n")
    _plant(raw / "test.title.txt", {2: "caf\ufffd closes", 10: titles[9]})
    _plant(raw / "test.article.txt", {10: articles[9]})

    result = workspace.dvc("repro", "vocab")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "expect_column_values_to_not_match_regex" in output or "control" in output, output
    assert "summary" in output
    assert not _ran(result.stdout, "tokenize")
    assert not (workspace.root / "data/processed").exists()
    # Earlier good outputs stay, and the failure report is there to read.
    assert (workspace.root / "data/interim/train.parquet").is_file()
    summary = json.loads((workspace.root / "reports/validation/summary.json").read_text())
    assert summary["success"] is False
    assert {f["split"] for f in summary["failures"] if f["action"] == "stop"} == {"train"}

    workspace.update_params({"validate": {"drop_invalid_rows": True}})
    result = workspace.dvc("repro", "vocab")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    root = workspace.root
    summary = json.loads((root / "reports/validation/summary.json").read_text())
    dropped = summary["dropped_ids"]
    assert sorted(dropped.get("train", []) + dropped.get("validation", [])) == [
        "train-0000003",
        "train-0000007",
    ]
    processed = {
        split: pd.read_parquet(root / "data/processed" / f"{split}.parquet")
        for split in ("train", "validation", "test")
    }
    tokenized_ids = set(processed["train"]["id"]) | set(processed["validation"]["id"])
    assert not {"train-0000003", "train-0000007"} & tokenized_ids
    assert len(tokenized_ids) == 398
    assert len(processed["test"]) == 60 and "test-0000002" in set(processed["test"]["id"])
    ingest = json.loads((root / "reports/ingest.json").read_text())
    assert ingest["rows"]["test"] == 60
    assert ingest["test_set"]["note"] == "test set whole: 60 rows"
    assert ingest["test_set"]["flagged"] == {
        "duplicate_pairs": {"count": 1, "ids": ["test-0000010"]}
    }


def test_bad_params_key_is_named(workspace: Workspace) -> None:
    workspace.update_params({"tokenize": {"lowercse": True}})
    result = workspace.run("summarizer", "tokenize")
    assert result.returncode == 1
    assert "tokenize.lowercse: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("preset", ["samsum", "cnndm"])
def test_other_datasets_are_a_params_change(
    tmp_path: Path, datasets_dir: Path, preset: str
) -> None:
    """The ready-made dataset sections run the data stages with no code change."""
    import gzip
    import shutil

    import yaml

    from tests.conftest import REPO_ROOT

    section = yaml.safe_load((REPO_ROOT / "configs" / "datasets" / f"{preset}.yaml").read_text())
    spec = section["dataset"]
    raw = tmp_path / "raw" / preset
    raw.mkdir(parents=True)
    for files in spec["splits"].values():  # a real slice of every split, same file names
        source = datasets_dir / preset / files["file"]
        opener = gzip.open if source.suffix == ".gz" else open
        with opener(source, "rt", encoding="utf-8") as handle:
            lines = [next(handle) for _ in range(60)]
        with opener(raw / files["file"], "wt", encoding="utf-8") as handle:
            handle.writelines(lines)
    spec["path"] = str(raw)
    params = {
        "dataset": spec,
        "validate": {"document_length": {"min": 1, "max": 3000}, "summary_length": {"max": 200}},
        "tokenize": {"max_source_len": 400, "max_target_len": 100},
        "vocab": {"min_freq": 1},
    }
    workspace = Workspace.create(tmp_path / "repo", params=params)
    shutil.rmtree(workspace.root / "data", ignore_errors=True)
    result = workspace.dvc("repro", "vocab")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads((workspace.root / "reports" / "ingest.json").read_text())
    assert report["dataset"] == preset
    for split in ("train", "validation", "test"):
        removed = sum(report["removed"].get(split, {}).values())
        assert report["rows"][split] == 60 - removed, (split, report)
    assert report["rows"]["test"] == 60  # the test split is never filtered against itself
    assert "validation_carved_from_train" not in report  # both have their own validation split
    processed = pd.read_parquet(workspace.root / "data" / "processed" / "test.parquet")
    assert processed["source"].map(len).max() <= 400
