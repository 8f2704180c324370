"""The README's ladder table and example headlines, read from the experiments bench/ladder.sh ran.

Each experiment is a git ref (``refs/exps/...``) whose ``dvc.lock`` names the evaluate stage's
outputs by hash; the files themselves are in the DVC cache, so nothing is decoded again:

    python bench/ladder_report.py            # after bench/ladder.sh's queue has finished

``dvc exp show`` prints the same numbers (the README gives the command); this adds the
predictions of a few test documents side by side.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RUNGS = [
    (
        "ladder-1-fixed-context",
        "the tutorial's model: fixed context, teacher forcing 0.5, separate vocabularies",
    ),
    ("ladder-2-attention", "+ attention (Luong general)"),
    ("ladder-3-teacher-forcing", "+ full teacher forcing (the one-call fast path)"),
    ("ladder-4-shared-vocab", "+ one shared vocabulary, shared and tied embeddings"),
    ("ladder-5-copy", "+ copy (pointer-generator)"),
    ("ladder-6-coverage", "+ coverage in the last epoch (params.yaml: the default model)"),
]
EXAMPLE_IDS = ("test-0000000", "test-0000004", "test-0000011")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def experiment_refs() -> dict[str, str]:
    """Experiment name -> its newest ref."""
    listing = git("for-each-ref", "--sort=committerdate", "--format=%(refname)", "refs/exps")
    return {ref.rsplit("/", 1)[-1]: ref for ref in listing.split()}


def cached_output(ref: str, stage: str, path: str) -> Path:
    lock = yaml.safe_load(git("show", f"{ref}:dvc.lock"))
    [out] = [o for o in lock["stages"][stage]["outs"] if o["path"] == path]
    md5 = out["md5"]
    return ROOT / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def main() -> None:
    refs = experiment_refs()
    print("| rung | test ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-1 95% interval | training |")
    print("| --- | --- | --- | --- | --- | --- |")
    examples: dict[str, list[tuple[str, str]]] = {}
    for name, label in RUNGS:
        if name not in refs:
            print(f"| {label} | not run | | | | |")
            continue
        metrics = json.loads(
            cached_output(refs[name], "evaluate", "reports/metrics.json").read_text()
        )
        print(
            f"| {label} | {metrics['test_rouge1']:.2f} | {metrics['test_rouge2']:.2f} | "
            f"{metrics['test_rougeL']:.2f} | {metrics['test_rouge1_low']:.2f}-"
            f"{metrics['test_rouge1_high']:.2f} | {metrics['train_seconds'] / 60:.1f} min |"
        )
        predictions = cached_output(refs[name], "evaluate", "reports/predictions.jsonl")
        for line in predictions.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["id"] in EXAMPLE_IDS:
                examples.setdefault(row["id"], []).append((label, row["prediction"]))
                examples.setdefault(
                    f"{row['id']}:source",
                    [("document", row["document"]), ("reference", row["reference"])],
                )
    print()
    for example_id in EXAMPLE_IDS:
        print(f"**{example_id}**")
        print()
        for label, text in examples.get(f"{example_id}:source", []) + examples.get(example_id, []):
            print(f"- {label.split(':')[0]}: {text}")
        print()


if __name__ == "__main__":
    main()
