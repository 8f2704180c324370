"""A throw-away copy of the project in which a test runs the real ``dvc repro``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT

COPIED = [
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    "src",
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvcignore",
    "data/external/.gitkeep",
]


def merge_params(base: dict, overrides: Mapping[str, Any]) -> dict:
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_params(base[key], value)
        else:
            base[key] = value
    return base


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, root: Path, params: Mapping[str, Any] | None = None) -> Workspace:
        root.mkdir(parents=True, exist_ok=True)
        # The datasets remote of .dvc/config is ../shared/datasets from the project root.
        shared = root.parent / "shared"
        if not shared.exists():
            shared.symlink_to(REPO_ROOT.parent / "shared", target_is_directory=True)
        for name in COPIED:
            source = REPO_ROOT / name
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, target)
        workspace = cls(root)
        # What scripts/setup.sh does: the datasets remote with an absolute url in the untracked
        # .dvc/config.local, which DVC carries into queued and --temp experiments.
        workspace.set_datasets_store(shared / "datasets")
        workspace.git("init", "-q", "-b", "main")
        workspace.git("config", "user.email", "tests@example.com")
        workspace.git("config", "user.name", "tests")
        if params:
            workspace.update_params(params)
        workspace.git("add", "-A")
        workspace.git("commit", "-q", "-m", "workspace")
        return workspace

    def set_datasets_store(self, url: Path) -> None:
        """Point the DVC remote ``datasets`` (``remote://datasets/...`` in params) at ``url``
        for this workspace only, as ``dvc remote modify --local`` does."""
        local = self.root / ".dvc" / "config.local"
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(f"['remote \"datasets\"']\n    url = {url.absolute()}\n")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout

    @property
    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text(encoding="utf-8"))

    def update_params(self, overrides: Mapping[str, Any]) -> None:
        params = merge_params(self.params, overrides)
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def env(self) -> dict[str, str]:
        """The environment of a user with the project's virtualenv active."""
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 900):
        """Run a command in the workspace with the project's virtualenv first on PATH."""
        # Output goes to files, not pipes: `dvc exp run --run-all` starts queue workers whose
        # supervising processes inherit the command's descriptors and live as long as the
        # workers do, so reading a pipe to its end would wait for them, not for the command.
        with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
            finished = subprocess.run(
                list(args),
                cwd=self.root,
                env={**self.env(), **(env or {})},
                stdout=stdout,
                stderr=stderr,
                timeout=timeout,
            )
            stdout.seek(0)
            stderr.seek(0)
            finished.stdout = stdout.read().decode(errors="replace")
            finished.stderr = stderr.read().decode(errors="replace")
        return finished

    def dvc(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        return self.run(str(Path(sys.executable).parent / "dvc"), *args, **kwargs)

    def repro_train_until_checkpoint(
        self, env: Mapping[str, str], timeout: float = 300
    ) -> subprocess.Popen:
        """Start ``dvc repro train`` and return it, running, once ``last.pt`` exists (what a
        test that interrupts training waits for)."""
        dvc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dvc"), "repro", "train"],
            cwd=self.root,
            env={**self.env(), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        checkpoint = self.root / "models" / "checkpoints" / "last.pt"
        deadline = time.monotonic() + timeout
        while not checkpoint.exists() and time.monotonic() < deadline and dvc.poll() is None:
            time.sleep(0.2)
        assert checkpoint.exists(), "no checkpoint was written"
        return dvc
