"""Prepare a GPU measurement here (step 1 of 3): the data stages of a dataset preset plus the GPU
profile, run in a throw-away copy of the project, packed with the wheels the GPU machine lacks
into the git-ignored ``.gpu/`` that the device tool carries.

    python bench/gpu_prepare.py gigaword
    python bench/gpu_prepare.py cnndm

Step 2 runs bench/gpu_run.py on the GPU machine through the device tool: its header holds the
exact calls (carry list and command), and this script prints them at the end.

Step 3 scores the tars that come back: ``python bench/gpu_score.py <files_at>/*.tar``.

``--set section.key=value`` (repeatable) changes the run's params after the preset and the
profile, e.g. ``--set train.max_train_examples=300 --set train.max_epochs=1`` for a dry run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from gpu_layout import (
    CARRY_LIMIT_BYTES,
    DEVICE_PYTHON,
    FUNCTION_WORDS,
    REPO_ROOT,
    WHEEL_PACKAGES,
    WHEELS,
    device_command,
    local_dir,
    parse_sets,
    run_dir,
    with_sets,
)

sys.path.insert(0, str(REPO_ROOT))  # tests.pipeline.workspace: the project's throw-away copy

from tests.pipeline.workspace import Workspace

from summarizer.config.overlay import apply_overlay
from summarizer.config.params import Params
from summarizer.config.paths import Paths
from summarizer.config.profiles import GPU_PROFILE
from summarizer.content_words import ContentWords
from summarizer.evaluation.baselines import baseline
from summarizer.evaluation.inputs import load_split

PRESETS = REPO_ROOT / "configs" / "datasets"


def build_data(preset: str, profile: Path, sets: dict[str, Any], workdir: Path) -> Workspace:
    """A copy of the project with the preset, the profile and ``sets`` applied, after
    ``dvc repro vocab`` (ingest, validate, tokenize, vocab)."""
    workspace = Workspace.create(workdir / "repo")
    params_file = workspace.root / "params.yaml"
    apply_overlay(PRESETS / f"{preset}.yaml", params_file)
    apply_overlay(profile, params_file)
    if sets:
        params = with_sets(Params.model_validate(workspace.params), sets)
        params_file.write_text(yaml.safe_dump(params.model_dump(by_alias=True), sort_keys=False))
    print(f"dvc repro vocab in {workspace.root} (the data stages: minutes for CNN/DM)", flush=True)
    result = workspace.dvc("repro", "vocab", timeout=3600)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
    return workspace


def pack(workspace: Workspace, name: str) -> None:
    """What the GPU needs into ``.gpu/<name>``, what scoring needs into ``.gpu/local/<name>``."""
    root = workspace.root
    target, local = REPO_ROOT / run_dir(name), REPO_ROOT / local_dir(name)
    for folder in (target, local):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    shutil.copy(root / "params.yaml", target / "params.yaml")
    shutil.copy(root / "params.yaml", local / "params.yaml")
    shutil.copytree(root / Paths.vocab_dir, target / Paths.vocab_dir)
    (target / Paths.processed).mkdir(parents=True)
    for table_path in sorted((root / Paths.processed).glob("*.parquet")):
        # zstd instead of the stage's snappy: CNN/DM's train split goes from 46 to 28 MiB,
        # which keeps it inside the device tool's 64 MiB.
        pq.write_table(
            pq.read_table(table_path),
            target / Paths.processed / table_path.name,
            compression="zstd",
            compression_level=9,
        )
    params = Params.model_validate(workspace.params)
    # The decoding rule "a content word once" needs the language's function words: spaCy's
    # list, taken here, since the GPU machine has no spaCy.
    function_words = ContentWords.of_summaries(params.tokenize).function_words
    (target / FUNCTION_WORDS).write_text(json.dumps(sorted(function_words), ensure_ascii=False))
    # What evaluate scores against: the ingested test split with every reference, and its lead
    # baseline, written here because documents and references never need to travel.
    with contextlib.chdir(root):  # the stages' paths are relative to the project root
        table = load_split(Paths.interim_split("test"))
    with open(local / "references.jsonl", "w", encoding="utf-8") as handle:
        for row in table.itertuples():
            record = {
                "id": str(row.id),
                "references": list(row.references),
                "baseline": baseline(row.document, params.evaluate),
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def download_wheels() -> None:
    """The wheels of :data:`WHEEL_PACKAGES` at the versions installed here, for the machine's
    CPython (the device README's recipe); kept when already there."""
    folder = REPO_ROOT / WHEELS
    folder.mkdir(parents=True, exist_ok=True)
    for package in WHEEL_PACKAGES:
        version = importlib.metadata.version(package)
        stem = package.replace("-", "_")
        if any(folder.glob(f"{stem}-{version}-*.whl")):
            continue
        for stale in folder.glob(f"{stem}-*.whl"):
            stale.unlink()  # two versions of one package stop the whole install there
        platforms = [
            "manylinux_2_28_x86_64",
            "manylinux_2_17_x86_64",
            "manylinux2014_x86_64",
        ]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                DEVICE_PYTHON,
                "--implementation",
                "cp",
                *[arg for platform in platforms for arg in ("--platform", platform)],
                "-d",
                str(folder),
                f"{package}=={version}",
            ],
            check=True,
        )


def ignore_carry_folder() -> None:
    """``.gpu/`` in ``.git/info/exclude``: never committed, still carried when named."""
    exclude = REPO_ROOT / ".git" / "info" / "exclude"
    lines = exclude.read_text().splitlines() if exclude.is_file() else []
    if "/.gpu/" not in lines:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("\n".join([*lines, "/.gpu/"]) + "\n")


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=sorted(p.stem for p in PRESETS.glob("*.yaml")))
    parser.add_argument("--profile", type=Path, default=REPO_ROOT / GPU_PROFILE)
    parser.add_argument("--name", help="folder under .gpu/ (default: the preset's name)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    name = args.name or args.preset

    ignore_carry_folder()
    download_wheels()
    with tempfile.TemporaryDirectory(prefix="gpu-prepare-") as workdir:
        workspace = build_data(args.preset, args.profile, parse_sets(args.sets), Path(workdir))
        pack(workspace, name)
    carried = size(REPO_ROOT / WHEELS) + size(REPO_ROOT / run_dir(name))
    print(f"carried: {carried / 2**20:.1f} MiB (+ the working tree; limit 64 MiB in all)")
    if carried > CARRY_LIMIT_BYTES * 0.8:
        print("warning: too close to the device tool's limit; cut the data (--set ...)")
    carry = f'["{WHEELS}", "{run_dir(name)}"]'
    print(f"device tool: run(carry={carry}, timeout_s=600, command=...) with the command")
    print(
        f"  the profile, then the ablation, in one call (Gigaword: a few minutes):\n"
        f"    {device_command(name, '--ablation-too')}"
    )
    print(
        f"  or one call each (CNN/DM: each takes most of a call's 10 minutes):\n"
        f"    {device_command(name)}\n    {device_command(name, '--ablation')}"
    )
    print(f"then: python bench/gpu_score.py <files_at>/*.tar   (.gpu/local/{name} holds the rest)")


if __name__ == "__main__":
    main()
