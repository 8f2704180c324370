"""Every profile in configs/profiles applies to params.yaml with the overlay command its header
names, alone or after a dataset preset, and the result validates; the overlay keeps every other
line of params.yaml as it was."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from summarizer.config.overlay import apply_overlay, overlay_text
from summarizer.config.params import Params
from summarizer.config.profiles import GPU_PROFILE, apply_command
from summarizer.errors import ConfigError
from tests.conftest import REPO_ROOT

PROFILES = sorted((REPO_ROOT / "configs" / "profiles").glob("*.yaml"))
PRESETS = sorted((REPO_ROOT / "configs" / "datasets").glob("*.yaml"))


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    target = tmp_path / "params.yaml"
    shutil.copy(REPO_ROOT / "params.yaml", target)
    return target


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_gpu_profile_the_trainer_names_exists() -> None:
    assert (REPO_ROOT / GPU_PROFILE) in PROFILES


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_profile_sets_every_key_of_its_sections_and_validates(
    profile: Path, params_file: Path
) -> None:
    sections = load(profile)
    before = load(params_file)
    params = apply_overlay(profile, params_file)
    after = load(params_file)
    assert after == {**before, **sections}
    for name, values in sections.items():
        # A key left out would fall back to the built-in default, not to params.yaml's value.
        assert set(values) == set(type(getattr(params, name)).model_fields), name
    assert params.train.device == "cuda"  # a GPU profile never quietly trains on a CPU


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_profile_applies_after_every_dataset_preset(preset: Path, params_file: Path) -> None:
    apply_overlay(preset, params_file)
    params = apply_overlay(REPO_ROOT / GPU_PROFILE, params_file)
    assert params.dataset.name == preset.stem
    assert params.model.hidden_dim == load(REPO_ROOT / GPU_PROFILE)["model"]["hidden_dim"]


def test_overlay_keeps_other_lines_and_applies_once(params_file: Path) -> None:
    original = params_file.read_text()
    apply_overlay(REPO_ROOT / GPU_PROFILE, params_file)
    once = params_file.read_text()
    apply_overlay(REPO_ROOT / GPU_PROFILE, params_file)
    assert params_file.read_text() == once
    # Everything from `tracking:` on (sections the profile does not hold) is untouched, and the
    # file's header too.
    assert once[once.index("\ntracking:") :] == original[original.index("\ntracking:") :]
    assert once.splitlines()[:3] == original.splitlines()[:3]
    assert "# lstm | gru" in original and "# lstm | gru" not in once  # the section's own comments


def test_a_section_params_yaml_lacks_is_appended() -> None:
    merged = overlay_text("a:\n  x: 1\n\nb:\n  y: 2\n", "# header\n\nc:\n  z: 3\nb:\n  y: 4\n")
    assert yaml.safe_load(merged) == {"a": {"x": 1}, "b": {"y": 4}, "c": {"z": 3}}


def test_an_invalid_overlay_writes_nothing_and_names_the_key(
    tmp_path: Path, params_file: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  hidden_dim: 512\n  hiden_dim: 512\n")
    original = params_file.read_text()
    with pytest.raises(ConfigError, match=r"model\.hiden_dim: unknown key"):
        apply_overlay(bad, params_file)
    assert params_file.read_text() == original


def test_the_command_the_hint_gives_applies_the_profile(tmp_path: Path) -> None:
    """The first half of the hint's command (before `&& dvc repro`), run as written in a copy of
    the project's params and profiles."""
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO_ROOT / "configs", tmp_path / "configs")
    overlay_part, _, rest = apply_command(GPU_PROFILE).partition(" && ")
    assert rest == "dvc repro"
    argv = shlex.split(overlay_part)
    assert argv[0] == "python"
    result = subprocess.run(
        [sys.executable, *argv[1:]], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    applied = Params.model_validate(load(tmp_path / "params.yaml"))
    assert applied.model.model_dump() == load(REPO_ROOT / GPU_PROFILE)["model"]
