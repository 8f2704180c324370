"""Where the GPU measurement's files live, for bench/gpu_prepare.py, gpu_run.py and gpu_score.py.

``.gpu/`` is git-ignored through ``.git/info/exclude`` (gpu_prepare.py adds the line): the
device tool carries it only when a run names it in ``carry``.

    .gpu/wheels/            pure-Python wheels the GPU machine lacks (carried)
    .gpu/<name>/            one prepared dataset: params.yaml, data/processed, data/vocab (carried)
    .gpu/local/<name>/      what stays here: test references, lead baseline, scoring params
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from summarizer.config.params import Params

REPO_ROOT = Path(__file__).resolve().parents[1]
CARRY_ROOT = Path(".gpu")  # relative to the project root, as the device tool's carry wants it
WHEELS = CARRY_ROOT / "wheels"
LOCAL = CARRY_ROOT / "local"
FUNCTION_WORDS = "function_words.json"  # in a run's folder: the summaries' language's stop words
# The device tool's limits: the whole working tree plus carried folders travels in 64 MiB.
CARRY_LIMIT_BYTES = 64 * 2**20
# Packages the project needs that the GPU machine's image lacks (KINDS.md lists what it has).
# Pure Python except pydantic-core, whose manylinux wheel is fetched for the machine's CPython.
WHEEL_PACKAGES = (
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    "typing-extensions",  # there too, maybe older than pydantic needs
)
DEVICE_PYTHON = "3.12"  # python3 there, as KINDS.md read it


def run_dir(name: str) -> Path:
    """The carried folder of prepared dataset ``name``."""
    return CARRY_ROOT / name


def local_dir(name: str) -> Path:
    """What scoring ``name`` needs here and the GPU never sees."""
    return LOCAL / name


def device_command(name: str, extra: str = "") -> str:
    """The command the device tool runs for dataset ``name`` (``extra``: gpu_run.py options)."""
    return (
        f"python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "
        f"--target /tmp/site {WHEELS}/*.whl && export PYTHONPATH=/tmp/site:src "
        f"PYTHONUNBUFFERED=1 && nvidia-smi -L && "
        f"python3 bench/gpu_run.py {run_dir(name)} --out $OUT{' ' + extra if extra else ''}"
    )


def parse_sets(values: list[str]) -> dict[str, Any]:
    """``section.key=value`` options (values in YAML: ``null``, ``1``, ``false``) as a dict."""
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise SystemExit(f"--set {item}: expected section.key=value")
        pairs[key] = yaml.safe_load(value)
    return pairs


def with_sets(params: Params, sets: dict[str, Any]) -> Params:
    """``params`` with each ``section.key`` of ``sets`` replaced, validated again."""
    raw = params.model_dump(by_alias=True)
    for dotted, value in sets.items():
        section, key = dotted.split(".", 1)
        raw[section][key] = value
    return Params.model_validate(raw)
