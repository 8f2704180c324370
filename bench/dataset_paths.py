"""Where the benchmarks find the real datasets: the DVC remote ``datasets``, the directory that
params.yaml names as ``remote://datasets/<name>``, so a benchmark reads the files the pipeline
reads, and follows a developer's ``.dvc/config.local`` when it moves them."""

from __future__ import annotations

import contextlib
from pathlib import Path

from summarizer.project import remote_url

ROOT = Path(__file__).resolve().parents[1]

# DVC finds its configuration from the working directory; a benchmark may be started anywhere.
with contextlib.chdir(ROOT):
    GIGAWORD = remote_url("datasets") / "gigaword"
