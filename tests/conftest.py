"""Shared fixtures: paths to the real datasets and small real slices of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("SUMMARIZER_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))

# MLflow and GX must never phone home from a test (there is no network here anyway).
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"{DATASETS}: real datasets not found (expected ../shared/datasets)")
    return DATASETS


def write_gigaword_slice(target: Path, train_pairs: int, test_pairs: int) -> Path:
    """Copy the first lines of the real Gigaword files into ``target`` (same file names)."""
    source = DATASETS / "gigaword"
    target.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train_pairs), ("test", test_pairs)):
        for kind in ("article", "title"):
            name = f"{split}.{kind}.txt"
            with open(source / name, encoding="utf-8") as handle:
                lines = [next(handle) for _ in range(count)]
            (target / name).write_text("".join(lines), encoding="utf-8")
    return target
