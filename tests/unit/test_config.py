"""params.yaml is validated when read: wrong types and unknown keys are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from summarizer.config import load_params
from summarizer.errors import ConfigError
from tests.conftest import REPO_ROOT


def write_params(tmp_path: Path, **changes) -> Path:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = params
        for key in parents:
            node = node[key]
        node[leaf] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_repository_params_are_valid() -> None:
    params = load_params(REPO_ROOT / "params.yaml")
    assert params.dataset.name == "gigaword"
    assert params.tokenize.max_source_len > 0


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"vocab\.min_frequency: unknown key"):
        load_params(write_params(tmp_path, vocab__min_frequency=3))


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tokenize\.max_source_len: Input should be a valid"):
        load_params(write_params(tmp_path, tokenize__max_source_len="long"))


def test_out_of_range_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ingest\.validation_size: Input should be less than 1"):
        load_params(write_params(tmp_path, ingest__validation_size=1.5))


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="parameter file not found"):
        load_params(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("dataset: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(tmp_path / "bad.yaml")


def test_dataset_presets_are_valid() -> None:
    from summarizer.config import DatasetSpec

    presets = sorted((REPO_ROOT / "configs" / "datasets").glob("*.yaml"))
    assert {p.stem for p in presets} >= {"gigaword", "samsum", "cnndm"}
    for preset in presets:
        DatasetSpec.model_validate(yaml.safe_load(preset.read_text())["dataset"])


def test_unknown_token_must_match_vocabulary(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"tokenize\.unknown_token .* must equal vocab\.unk_token"
    ):
        load_params(write_params(tmp_path, vocab__unk_token="<oov>"))


def test_decoding_min_length_above_max_length_fails_before_training(tmp_path: Path) -> None:
    path = write_params(tmp_path, evaluate__decode__min_length=50, evaluate__decode__max_length=5)
    with pytest.raises(ConfigError, match=r"evaluate\.decode: min_length \(50\) must not exceed"):
        load_params(path)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("ingest__drop_duplicates", "yes", "Input should be a valid boolean"),
        ("train__max_epochs", "6", "Input should be a valid integer"),
        ("train__lr", "0.002", "Input should be a valid number"),
        ("tokenize__lowercase", 1, "Input should be a valid boolean"),
    ],
)
def test_params_are_strict_about_types(tmp_path: Path, key: str, value: object, expected: str):
    path = write_params(tmp_path, **{key: value})
    with pytest.raises(ConfigError, match=rf"{key.replace('__', '.')}: {expected}"):
        load_params(path)
