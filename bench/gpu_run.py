"""Train and decode on the GPU machine (step 2 of 3) with the project's own Trainer, checkpoint
store, model directory and search, and bring back one tar per run in ``$OUT``: predictions,
per-epoch history, timings (seconds per epoch, target tokens/s, peak GPU memory) and the params
(and, written before decoding, ``<tag>-train.json``, so a call that runs out of time still
brings the training back).

Step 1, here: ``python bench/gpu_prepare.py gigaword`` and ``python bench/gpu_prepare.py cnndm``
fill ``.gpu/`` (git-ignored) with the data and the wheels, and print these commands.

Step 2, the device tool, three calls. The machine has torch but no spaCy, MLflow, DVC or
pydantic: the wheels travel in ``.gpu/wheels`` and ``src`` goes on the path.

    Gigaword, the profile and then the ablation (copy and coverage off), in one call:
    carry=[".gpu/wheels", ".gpu/gigaword"], timeout_s=600, command=
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
          --target /tmp/site .gpu/wheels/*.whl && export PYTHONPATH=/tmp/site:src \
          PYTHONUNBUFFERED=1 && nvidia-smi -L && \
          python3 bench/gpu_run.py .gpu/gigaword --out $OUT --ablation-too

    CNN/DM, the profile (one call: 39k pairs of 400 tokens, then 11,490 beam searches):
    carry=[".gpu/wheels", ".gpu/cnndm"], timeout_s=600, command=
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
          --target /tmp/site .gpu/wheels/*.whl && export PYTHONPATH=/tmp/site:src \
          PYTHONUNBUFFERED=1 && nvidia-smi -L && \
          python3 bench/gpu_run.py .gpu/cnndm --out $OUT

    CNN/DM, the ablation: the same carry and command, ending in ``--ablation``.

(gpu_layout.device_command writes these commands; gpu_prepare.py prints them.)

Step 3, here: ``python bench/gpu_score.py <files_at>/*.tar`` scores each run with ``summarizer
score`` beside the lead baseline and prints a Markdown table.

Options: ``--ablation`` trains with copy and coverage off (the same data), ``--ablation-too``
runs the profile and then the ablation, ``--set section.key=value`` changes any param
(``--set train.device=cpu`` for a dry run without a GPU), ``--max-test-examples N`` decodes the
first N test documents only.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from gpu_layout import FUNCTION_WORDS, parse_sets, with_sets
from summarizer.config.params import Params, load_params
from summarizer.config.paths import Paths
from summarizer.content_words import ContentWords
from summarizer.inference import Summarizer
from summarizer.io import read_stage_table
from summarizer.stages.train import TrainingData
from summarizer.stages.train_identity import fingerprint
from summarizer.training.build import build_trainer, model_config
from summarizer.training.checkpoints import CheckpointStore
from summarizer.training.device import precision_name
from summarizer.training.trainer import Trainer

ABLATION = {"model.copy": False, "model.coverage": False}


def train(params: Params, workdir: Path) -> tuple[Trainer, TrainingData, CheckpointStore, float]:
    """Fit as the train stage does (its data, fingerprint and checkpoint store; no MLflow)."""
    data = TrainingData.load(params)
    store = CheckpointStore(workdir / "checkpoints", fingerprint(params, data.data_hash))
    config = model_config(params.model, len(data.src_vocab), len(data.tgt_vocab))
    trainer = build_trainer(params.train, config, store)
    print(
        f"training {trainer.model.num_parameters():,} parameters on {trainer.device} "
        f"({precision_name(trainer.autocast_dtype)}), {len(data.train)} pairs",
        flush=True,
    )
    started = time.perf_counter()
    trainer.fit(data.train, data.validation)
    _sync(trainer.device)
    return trainer, data, store, time.perf_counter() - started


def decode(
    params: Params,
    trainer: Trainer,
    data: TrainingData,
    store: CheckpointStore,
    workdir: Path,
    max_examples: int | None,
) -> tuple[list[dict[str, str]], float]:
    """The best checkpoint exported as the train stage exports it, loaded and decoded as the
    evaluate stage does (its decoding options), over the tokenized test split."""
    from summarizer.model_io import save_model_dir

    model_dir = workdir / "model"
    save_model_dir(
        model_dir,
        store.load_best()["model"],
        trainer.config,
        params.tokenize,
        data.src_vocab,
        data.tgt_vocab,
        {"dataset": params.dataset.name},
    )
    summarizer = Summarizer.from_dir(model_dir, trainer.device)
    summarizer.options = params.evaluate.decode
    if params.evaluate.decode.no_repeat_content_words:  # spaCy's list, carried (gpu_prepare.py)
        function_words = json.loads(Path(FUNCTION_WORDS).read_text(encoding="utf-8"))
        summarizer.content_words = ContentWords.of_summaries(
            params.tokenize, data.tgt_vocab.specials, function_words
        )
    table = read_stage_table(Paths.processed_split("test"), "tokenize", ["id", "source"])
    if max_examples is not None:
        table = table.head(max_examples)
    started = time.perf_counter()
    summaries = summarizer.summarize_tokens([list(s) for s in table["source"]])
    _sync(trainer.device)
    seconds = time.perf_counter() - started
    rows = [{"id": str(i), "summary": s.text} for i, s in zip(table["id"], summaries, strict=True)]
    return rows, seconds


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(
    run_folder: Path, tag: str, sets: dict[str, Any], max_examples: int | None, out: Path
) -> Path:
    """One training and decoding in ``run_folder``; the tar written to ``out``."""
    params = with_sets(load_params(run_folder / "params.yaml"), sets)
    with tempfile.TemporaryDirectory(prefix="gpu-run-") as tmp, contextlib.chdir(run_folder):
        workdir = Path(tmp)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        trainer, data, store, train_seconds = train(params, workdir)
        train_peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
        # Written before decoding: a call that runs out of time still brings the training back.
        out.mkdir(parents=True, exist_ok=True)
        early = {"train_seconds": train_seconds, "history": trainer.progress.history}
        (out / f"{tag}-train.json").write_text(json.dumps(early, indent=2))
        predictions, decode_seconds = decode(params, trainer, data, store, workdir, max_examples)
    history = trainer.progress.history
    gib = 2**30
    timings = {
        "tag": tag,
        "dataset": params.dataset.name,
        "run_folder": run_folder.name,
        "device": torch.cuda.get_device_name() if trainer.device.type == "cuda" else "cpu",
        "precision": precision_name(trainer.autocast_dtype),
        "torch": torch.__version__,
        "parameters": trainer.model.num_parameters(),
        "train_pairs": len(data.train),
        "epochs": len(history),
        "best_epoch": trainer.early_stopper.best_epoch,
        "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": [round(r["seconds"], 2) for r in history],
        "target_tokens_per_second": [round(r["tokens_per_second"]) for r in history],
        "peak_gpu_memory_gib_train": None if train_peak is None else round(train_peak / gib, 3),
        "peak_gpu_memory_gib": (
            round(torch.cuda.max_memory_allocated() / gib, 3) if torch.cuda.is_available() else None
        ),
        "decode_seconds": round(decode_seconds, 2),
        "decoded": len(predictions),
        "sets": sets,
    }
    files = {
        "timings.json": json.dumps(timings, indent=2),
        "history.json": json.dumps(history, indent=2),
        "params.yaml": yaml.safe_dump(params.model_dump(by_alias=True), sort_keys=False),
        "predictions.jsonl": "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions),
    }
    target = out / f"{tag}.tar"
    with tarfile.open(target, "w") as tar:
        for name, text in files.items():
            payload = text.encode("utf-8")
            info = tarfile.TarInfo(f"{tag}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    print(json.dumps(timings), flush=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_folder", type=Path, help="a folder gpu_prepare.py wrote, .gpu/NAME")
    parser.add_argument("--out", type=Path, required=True, help="$OUT on the device")
    parser.add_argument("--ablation", action="store_true", help="copy and coverage off")
    parser.add_argument("--ablation-too", action="store_true", help="the run, then the ablation")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-test-examples", type=int)
    args = parser.parse_args()
    run_folder = args.run_folder.resolve()
    sets = parse_sets(args.sets)
    variants = [("ablation", {**sets, **ABLATION})] if args.ablation else [("profile", sets)]
    if args.ablation_too and not args.ablation:
        variants.append(("ablation", {**sets, **ABLATION}))
    for variant, variant_sets in variants:
        tag = f"{run_folder.name}-{variant}"
        measure(run_folder, tag, variant_sets, args.max_test_examples, args.out.resolve())
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the next variant's peak is its own


if __name__ == "__main__":
    sys.exit(main())
