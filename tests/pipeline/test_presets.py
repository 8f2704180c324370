"""Every dataset preset in configs/datasets, applied as its header says (each of its sections
replaces the one in params.yaml), is complete: it validates, and the data stages run on a real
slice of its dataset with no other change."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from summarizer.config.params import Params
from tests.conftest import REPO_ROOT
from tests.pipeline.workspace import Workspace

PRESETS_DIR = REPO_ROOT / "configs" / "datasets"
PRESETS = sorted(path.stem for path in PRESETS_DIR.glob("*.yaml"))
# Sections that stay in params.yaml whatever the dataset.
DATASET_INDEPENDENT = {"model", "train", "serve"}

# 1-based line numbers of each split's files kept in the slice. CNN/DM's slice holds two of its
# blank train articles (lines 599 and 612) and a test article with U+FFFD (line 1578).
SLICES: dict[str, dict[str, list[int]]] = {
    "gigaword": {"train": list(range(1, 301)), "test": list(range(1, 61))},
    "samsum": {
        "train": list(range(1, 201)),
        "validation": list(range(1, 41)),
        "test": list(range(1, 61)),
    },
    "cnndm": {
        "train": [*range(1, 151), 599, 612],
        "validation": list(range(1, 41)),
        "test": [*range(1, 61), 1578],
    },
}


# Presets whose whole pipeline, data stages included, runs in a test of its own.
WHOLE_PIPELINE_TESTS = {"tatoeba-cmn": "tests/pipeline/test_translation.py"}


def load_preset(name: str) -> dict[str, Any]:
    return yaml.safe_load((PRESETS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def apply_preset(params: dict[str, Any], preset: dict[str, Any]) -> dict[str, Any]:
    """params.yaml with every section of ``preset`` replacing its own, whole."""
    return {**params, **preset}


def repo_params() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_every_dataset_has_a_preset() -> None:
    assert sorted([*SLICES, *WHOLE_PIPELINE_TESTS]) == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_preset_is_complete_and_valid(name: str) -> None:
    preset = load_preset(name)
    assert set(preset) == set(repo_params()) - DATASET_INDEPENDENT, name
    params = Params.model_validate(apply_preset(repo_params(), preset))
    assert params.dataset.name == name
    assert params.register_.model_name == f"summarizer-{name}"
    assert params.tracking.experiment == f"summarizer-{name}"


def test_gigaword_preset_is_what_params_yaml_holds() -> None:
    """params.yaml is the Gigaword preset: switching back to it must give the default run."""
    default = Params.model_validate(repo_params())
    applied = Params.model_validate(apply_preset(repo_params(), load_preset("gigaword")))
    assert applied == default


def _read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return handle.read().split("\n")[:-1]


def _write_lines(path: Path, lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def write_slice(name: str, spec: dict[str, Any], source: Path, target: Path) -> Path:
    """The lines :data:`SLICES` names of every file of the dataset, under the same names."""
    target.mkdir(parents=True)
    for split, files in spec["splits"].items():
        numbers = SLICES[name][split]
        for file_name in (files.get("file"), files.get("document"), files.get("summary")):
            if file_name is not None:
                lines = _read_lines(source / file_name)
                _write_lines(target / file_name, [lines[number - 1] for number in numbers])
    return target


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLICES))
def test_data_stages_run_on_every_preset(tmp_path: Path, datasets_dir: Path, name: str) -> None:
    preset = load_preset(name)
    preset["dataset"]["path"] = str(
        write_slice(name, preset["dataset"], datasets_dir / name, tmp_path / "raw" / name)
    )
    preset["vocab"]["min_freq"] = 1  # a slice this small has few repeated words
    # Workspace.create(params=...) merges key by key; a preset replaces whole sections.
    workspace = Workspace.create(tmp_path / "repo")
    params = apply_preset(workspace.params, preset)
    (workspace.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    result = workspace.dvc("repro", "vocab")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    root = workspace.root
    report = json.loads((root / "reports" / "ingest.json").read_text())
    assert report["dataset"] == name
    assert report["rows"]["test"] == len(SLICES[name]["test"])  # the test split is kept whole
    tokenize = preset["tokenize"]
    processed = {
        split: pd.read_parquet(root / "data" / "processed" / f"{split}.parquet")
        for split in ("train", "test")
    }
    assert processed["train"]["source"].map(len).max() <= tokenize["max_source_len"]
    assert processed["train"]["target"].map(len).max() <= tokenize["max_target_len"]
    test_tokens = [token for tokens in processed["test"]["target"] for token in tokens]
    has_digit = any(re.search(r"\d", token) for token in test_tokens)
    # Gigaword's own preprocessing writes digits as '#'; other references keep real digits.
    assert has_digit is (not tokenize["mask_digits"]), name
    if name == "samsum":
        # Who said what: speaker names stay distinct words ("hannah :", "amanda :").
        first = list(processed["test"]["source"].iloc[0])
        assert first[:2] == ["hannah", ":"] and "amanda" in first
    if name == "cnndm":
        # validate.drop_invalid_rows: both blank train articles are gone by tokenize; the test
        # article with U+FFFD is reported and kept.
        assert not {"train_000-0598", "train_000-0611"} & set(processed["train"]["id"])
        assert processed["train"]["source"].map(len).min() > 0
        assert "test-01577" in set(processed["test"]["id"])
