"""Score what bench/gpu_run.py brought back (step 3 of 3): each tar's test predictions, and the
lead baseline of its dataset, with ``summarizer score`` (the evaluate stage's scorer and the
dataset's scoring options), then one table of speed and ROUGE.

    python bench/gpu_score.py /work/.device/.../gigaword-profile.tar [more.tar ...]

Each run's numbers go to ``.gpu/local/<dataset>/<tag>/`` (timings.json, history.json,
predictions.jsonl, rouge.json) to quote from. Predictions of a dataset whose references have
several sentences are split into sentences first, as the evaluate stage does (ROUGE-Lsum).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from gpu_layout import REPO_ROOT, local_dir
from summarizer.evaluation.inputs import split_like_references

HEADLINE = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def summarizer_score(
    predictions: list[str], references: list[list[str]], params: Path, folder: Path, name: str
) -> dict[str, float]:
    """``summarizer score`` on line-aligned files written to ``folder``; its metrics."""
    predictions_file, references_file = folder / f"{name}.jsonl", folder / "references.jsonl"
    write_jsonl(predictions_file, [{"summary": p} for p in predictions])
    # A list of lists: several references per example, each its own text.
    write_jsonl(references_file, [{"references": [[r] for r in refs]} for refs in references])
    output = folder / f"{name}.rouge.json"
    command = [
        str(Path(sys.executable).parent / "summarizer"),
        "score",
        str(predictions_file),
        str(references_file),
        "--prediction-field",
        "summary",
        "--reference-field",
        "references",
        "--params",
        str(params),
        "--output",
        str(output),
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(output.read_text())


def unpack(tar_path: Path) -> tuple[str, Path]:
    """The tar's run (tag) unpacked into ``.gpu/local/<dataset folder>/<tag>``."""
    with tarfile.open(tar_path) as tar:
        tag = tar.getnames()[0].split("/")[0]
        timings = json.load(tar.extractfile(f"{tag}/timings.json"))  # type: ignore[arg-type]
        target = REPO_ROOT / local_dir(timings["run_folder"])
        shutil.rmtree(target / tag, ignore_errors=True)
        tar.extractall(target, filter="data")
    return tag, target


def score_run(tar_path: Path) -> dict[str, Any]:
    """Timings and ROUGE of one run, and of the lead baseline on the same examples."""
    tag, local = unpack(tar_path)
    run = local / tag
    timings = json.loads((run / "timings.json").read_text())
    by_id = {r["id"]: r for r in read_jsonl(local / "references.jsonl")}
    predictions = read_jsonl(run / "predictions.jsonl")
    missing = [p["id"] for p in predictions if p["id"] not in by_id]
    if missing:
        raise SystemExit(f"{tar_path}: {len(missing)} predictions have no reference: {missing[:3]}")
    references = [by_id[p["id"]]["references"] for p in predictions]
    texts = split_like_references([p["summary"] for p in predictions], references)
    params = local / "params.yaml"
    model = summarizer_score(texts, references, params, run, "predictions-scored")
    lead = [by_id[p["id"]]["baseline"] for p in predictions]
    baseline = summarizer_score(lead, references, params, run, "baseline")
    (run / "rouge.json").write_text(json.dumps({"model": model, "baseline": baseline}, indent=2))
    return {"tag": tag, "timings": timings, "model": model, "baseline": baseline}


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table (to paste into the README): speed, then ROUGE F1 x100 of each run, each
    followed by the lead baseline on the same examples."""
    head = ["run", "device", "epochs (best)", "s/epoch", "target tok/s", "peak GPU GiB"]
    head += ["decode s", "examples", *HEADLINE, "R1 95% CI"]
    rows = [head, ["---"] * len(head)]
    for result in results:
        t = result["timings"]
        per_epoch, speed = t["seconds_per_epoch"], t["target_tokens_per_second"]
        peak = t["peak_gpu_memory_gib"]
        rows.append(
            [
                result["tag"],
                t["device"],
                f"{t['epochs']} ({t['best_epoch']})",
                f"{sum(per_epoch) / len(per_epoch):.1f}",
                f"{sum(speed) / len(speed):,.0f}",
                "-" if peak is None else f"{peak:.2f}",
                f"{t['decode_seconds']:.1f}",
                str(t["decoded"]),
                *_rouge(result["model"]),
            ]
        )
        rows.append(["lead baseline", *[""] * 6, str(t["decoded"]), *_rouge(result["baseline"])])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _rouge(metrics: dict[str, float]) -> list[str]:
    scores = [f"{metrics[f'{k}_f']:.2f}" if f"{k}_f" in metrics else "-" for k in HEADLINE]
    low, high = metrics.get("rouge1_f_low"), metrics.get("rouge1_f_high")
    return [*scores, "-" if low is None or high is None else f"{low:.2f}-{high:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tars", type=Path, nargs="+")
    args = parser.parse_args()
    print(table([score_run(path) for path in args.tars]))


if __name__ == "__main__":
    main()
