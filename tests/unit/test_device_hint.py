"""The hint that a GPU profile exists: given on a CUDA device to a run of params.yaml's
CPU-sized settings, and to nobody else."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import yaml

from summarizer.config.params import Params
from summarizer.config.profiles import GPU_PROFILE, apply_command
from summarizer.training.device import SIZE_KEYS, gpu_profile_hint, log_gpu_profile_hint
from tests.conftest import REPO_ROOT


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def profile() -> dict:
    return load(REPO_ROOT / GPU_PROFILE)


@pytest.fixture(scope="module")
def defaults() -> Params:
    return Params.model_validate(load(REPO_ROOT / "params.yaml"))


def sections(params: Params) -> dict:
    return {"model": params.model, "train": params.train}


def test_cuda_with_params_yaml_defaults_names_the_profile_and_the_command(
    profile: dict, defaults: Params
) -> None:
    hint = gpu_profile_hint("cuda", sections(defaults), profile, GPU_PROFILE)
    assert hint is not None
    assert str(GPU_PROFILE) in hint and apply_command(GPU_PROFILE) in hint
    for section, key in SIZE_KEYS:
        assert f"{section}.{key} {getattr(getattr(defaults, section), key)}" in hint


@pytest.mark.parametrize("device_type", ["cpu", "mps"])
def test_no_hint_off_cuda(profile: dict, defaults: Params, device_type: str) -> None:
    assert gpu_profile_hint(device_type, sections(defaults), profile, GPU_PROFILE) is None


def test_no_hint_once_the_profile_is_applied(profile: dict, defaults: Params) -> None:
    applied = Params.model_validate({**load(REPO_ROOT / "params.yaml"), **profile})
    assert gpu_profile_hint("cuda", sections(applied), profile, GPU_PROFILE) is None


def test_no_hint_for_a_run_grown_on_any_knob(profile: dict, defaults: Params) -> None:
    wider = defaults.model.model_copy(update={"hidden_dim": profile["model"]["hidden_dim"] * 2})
    grown = {"model": wider, "train": defaults.train}
    assert gpu_profile_hint("cuda", grown, profile, GPU_PROFILE) is None


def test_the_trainer_side_reads_the_profile_from_the_project_root(
    defaults: Params, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch.device("cuda") names a device without needing one.
    monkeypatch.chdir(REPO_ROOT)
    with caplog.at_level(logging.INFO, logger="summarizer.training.device"):
        log_gpu_profile_hint(torch.device("cpu"), defaults.model, defaults.train)
        assert not caplog.records
        log_gpu_profile_hint(torch.device("cuda"), defaults.model, defaults.train)
    assert [r.getMessage() for r in caplog.records] == [
        gpu_profile_hint("cuda", sections(defaults), load(GPU_PROFILE), GPU_PROFILE)
    ]


def test_no_hint_without_the_profile_file(
    defaults: Params, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level(logging.INFO, logger="summarizer.training.device"):
        log_gpu_profile_hint(
            torch.device("cuda"), defaults.model, defaults.train, tmp_path / "absent.yaml"
        )
    assert not caplog.records
