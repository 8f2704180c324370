"""params.yaml is validated when read: wrong types and unknown keys are named."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml

from summarizer.config.base import Section
from summarizer.config.params import Params, load_params
from summarizer.errors import ConfigError
from tests.conftest import REPO_ROOT


def write_params(tmp_path: Path, **changes) -> Path:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = params
        for key in parents:
            node = node.setdefault(key, {})
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
    from summarizer.config.data import DatasetSpec

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


def test_fixed_context_model_refuses_copy_and_coverage_before_training(tmp_path: Path) -> None:
    # params.yaml turns copy and coverage on: attention none alone must name both.
    path = write_params(tmp_path, model__attention="none")
    with pytest.raises(
        ConfigError, match=r"model\.copy and model\.coverage read the attention.*'none'"
    ):
        load_params(path)
    load_params(
        write_params(tmp_path, model__attention="none", model__copy=False, model__coverage=False)
    )


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


def float_params(model: type = Params, prefix: str = "") -> list[str]:
    """Every float param of every section (``train.lr``, ``evaluate.decode.alpha``, ...)."""
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            keys += float_params(annotation, key + ".")
        elif annotation is float or float in typing.get_args(annotation):
            keys.append(key)
    return keys


def test_every_float_param_is_found() -> None:
    found = set(float_params())
    assert {"train.lr", "train.weight_decay", "evaluate.decode.alpha", "serve.max_seconds"} <= found
    assert {
        "ingest.validation_size",
        "evaluate.scoring.confidence",
        "register.max_empty_share",
    } <= (found)


@pytest.mark.parametrize("key", float_params())
def test_non_finite_float_params_are_named(tmp_path: Path, key: str) -> None:
    # YAML's .inf passes a bound such as lr > 0 and trains an epoch of NaN loss.
    for value in (float("inf"), float("-inf"), float("nan")):
        path = write_params(tmp_path, **{key.replace(".", "__"): value})
        with pytest.raises(ConfigError, match=rf"\n  {key}: Input should be a finite number"):
            load_params(path)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("no-such-codec", "unknown encoding 'no-such-codec'; use a Python text codec"),
        ("rot13", "'rot13' is not a text encoding"),
        ("base64", "'base64' is not a text encoding"),
    ],
)
def test_unknown_or_non_text_encoding_is_named(
    tmp_path: Path, encoding: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=rf"dataset\.encoding: {expected}"):
        load_params(write_params(tmp_path, dataset__encoding=encoding))
    assert load_params(write_params(tmp_path, dataset__encoding="latin-1")).dataset.encoding == (
        "latin-1"
    )
