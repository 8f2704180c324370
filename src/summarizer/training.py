"""The training loop: optimisation, validation, checkpoints, early stopping and resume.

Exactness of resume is a design goal: the batch order of an epoch is a pure function of
``(seed, epoch)``, every random generator is saved in the checkpoint, and checkpoints are only
written between optimizer steps. A run killed at any point and started again therefore ends with
the same weights as one that was never interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import random
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from summarizer.batching import Batch, EncodedPairs, collate, token_batches
from summarizer.config import ModelParams, Params, Paths, TrainParams
from summarizer.data.vocab import PAD_ID, Vocab
from summarizer.errors import DataError, SummarizerError
from summarizer.io import atomic_path, write_json
from summarizer.model import Seq2Seq, Seq2SeqConfig
from summarizer.model_io import save_model_dir

log = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 30.0


class DeviceError(SummarizerError):
    """A forced device is not available on this machine."""


class TrainingInterrupted(SummarizerError):
    """Training stopped on a signal after saving a checkpoint; running again resumes."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        self.signum = signum
        name = signal.Signals(signum).name
        super().__init__(f"{name} received: checkpoint saved to {checkpoint}; run again to resume")


# ------------------------------------------------------------------------------------- device
def select_device(requested: str) -> torch.device:
    """CUDA, then Apple MPS, then the CPU; a forced device that is absent is an error."""
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if requested == "auto":
        return torch.device(next(name for name in ("cuda", "mps", "cpu") if available[name]))
    if not available[requested]:
        present = ", ".join(name for name, ok in available.items() if ok)
        raise DeviceError(
            f"train.device is '{requested}' but no {requested.upper()} device is available "
            f"here (available: {present}); set train.device to 'auto' or 'cpu'"
        )
    return torch.device(requested)


def select_precision(requested: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if requested == "fp32":
        return None
    if requested == "auto":
        if device.type != "cuda":
            return None  # no bf16 speed-up on common CPUs; MPS autocast is still partial
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if requested == "fp16" and device.type != "cuda":
        raise DeviceError("train.precision fp16 needs a CUDA device; use bf16 or fp32")
    return torch.bfloat16 if requested == "bf16" else torch.float16


def model_config(params: ModelParams, src_vocab_size: int, tgt_vocab_size: int) -> Seq2SeqConfig:
    return Seq2SeqConfig(
        src_vocab_size=src_vocab_size,
        tgt_vocab_size=tgt_vocab_size,
        **params.model_dump(),
    )


# ----------------------------------------------------------------------------------- schedules
def lr_lambda(params: TrainParams, total_steps: int) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` at the last step."""

    def factor(step: int) -> float:
        if params.scheduler == "constant":
            return 1.0
        if step < params.warmup_steps:
            return (step + 1) / params.warmup_steps
        progress = min(
            1.0, (step - params.warmup_steps) / max(1, total_steps - params.warmup_steps)
        )
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return params.min_lr_ratio + (1 - params.min_lr_ratio) * cosine

    return factor


def teacher_forcing_ratio(params: TrainParams, epoch: int) -> float:
    if params.max_epochs == 1:
        return params.teacher_forcing
    share = epoch / (params.max_epochs - 1)
    return params.teacher_forcing - (params.teacher_forcing - params.teacher_forcing_min) * share


# ----------------------------------------------------------------------------------- the state
@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    val_perplexity: float
    lr: float
    tokens_per_second: float
    teacher_forcing: float
    seconds: float


@dataclass
class Progress:
    """Everything besides tensors that a resumed run needs to continue exactly."""

    epoch: int = 0
    batch_index: int = 0  # next batch of ``epoch`` to train on
    global_step: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    finished: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    # running sums of the current epoch, so a mid-epoch resume reports the same train loss
    epoch_loss_sum: float = 0.0
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0


def _rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[list[int]]:
    """Record SIGINT/SIGTERM instead of dying, so the loop can checkpoint between steps."""
    received: list[int] = []
    handlers = {}

    def handler(signum: int, frame: object) -> None:
        if received:  # a second signal means "now": give up on the checkpoint
            raise KeyboardInterrupt
        received.append(signum)
        log.warning(
            "%s received: finishing the current step and saving a checkpoint",
            signal.Signals(signum).name,
        )

    for signum in (signal.SIGINT, signal.SIGTERM):
        # Outside the main thread signals cannot be caught; leave them alone there.
        with contextlib.suppress(ValueError):
            handlers[signum] = signal.signal(signum, handler)
    try:
        yield received
    finally:
        for signum, previous in handlers.items():
            signal.signal(signum, previous)


# --------------------------------------------------------------------------------- the trainer
class Trainer:
    def __init__(
        self,
        params: TrainParams,
        config: Seq2SeqConfig,
        checkpoint_dir: Path,
        fingerprint: str = "",
    ) -> None:
        self.params = params
        self.config = config
        self.checkpoint_dir = Path(checkpoint_dir)
        self.fingerprint = fingerprint
        self.run_id: str | None = None  # the MLflow run this training reports to
        self.device = select_device(params.device)
        self.autocast_dtype = select_precision(params.precision, self.device)
        if params.threads:
            torch.set_num_threads(params.threads)
        seed_everything(params.seed)
        self.model = Seq2Seq(config).to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=params.lr,
            weight_decay=params.weight_decay,
            # One fused kernel instead of a dozen elementwise passes over every parameter.
            fused=self.device.type in ("cuda", "cpu"),
        )
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.autocast_dtype is torch.float16
        )
        self.scheduler: Any = None
        self.progress = Progress()
        self.loss_fn = nn.CrossEntropyLoss(
            ignore_index=PAD_ID, label_smoothing=params.label_smoothing, reduction="sum"
        )
        self.eval_loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID, reduction="sum")

    # ---------------------------------------------------------------------------- checkpoints
    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint_dir / "best.pt"

    def _state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "progress": asdict(self.progress),
            "rng": _rng_state(),
            "config": self.config.to_dict(),
            "fingerprint": self.fingerprint,
            "run_id": self.run_id,
        }

    def save_checkpoint(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(self._state(), tmp)
        tmp.replace(path)  # never a half-written checkpoint, even if killed while saving

    def _resumable_state(self) -> dict[str, Any] | None:
        """``last.pt`` if it belongs to this very configuration and data and is unfinished."""
        if not self.last_checkpoint.is_file():
            return None
        # The checkpoint holds RNG states and the progress record: not plain tensors, so
        # weights_only=False; it is our own file in our own checkpoint directory.
        state = torch.load(self.last_checkpoint, map_location=self.device, weights_only=False)
        if state.get("fingerprint") != self.fingerprint:
            log.info(
                "checkpoint %s is from other params or data: starting afresh", self.last_checkpoint
            )
            return None
        if state["progress"]["finished"]:
            log.info("checkpoint %s is of a finished run: starting afresh", self.last_checkpoint)
            return None
        return state

    def resumable_run_id(self) -> str | None:
        """The MLflow run of the checkpoint that :meth:`fit` will resume, if any.

        Kept in the checkpoint (a persistent output) rather than in ``models/mlflow_run.json``,
        which DVC deletes before re-running the stage.
        """
        state = self._resumable_state()
        return state.get("run_id") if state is not None else None

    def try_resume(self) -> bool:
        """Continue from ``last.pt`` when it belongs to this very configuration and data."""
        state = self._resumable_state()
        if state is None:
            return False
        progress = Progress(**state["progress"])
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.progress = progress
        _set_rng_state(state["rng"])
        log.info(
            "resuming from %s: epoch %d, batch %d",
            self.last_checkpoint,
            progress.epoch + 1,
            progress.batch_index,
        )
        return True

    # ------------------------------------------------------------------------------- batching
    def epoch_batches(self, pairs: EncodedPairs, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.params.seed, epoch])
        return token_batches(
            [len(s) for s in pairs.sources],
            [len(t) for t in pairs.targets],
            batch_tokens=self.params.batch_tokens,
            max_batch_size=self.params.max_batch_size,
            rng=rng,
        )

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _make_scheduler(self, steps_per_epoch: int) -> None:
        if self.params.scheduler == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer,
                factor=self.params.plateau_factor,
                patience=self.params.plateau_patience,
            )
        else:
            total = steps_per_epoch * self.params.max_epochs
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lr_lambda(self.params, total)
            )

    # ---------------------------------------------------------------------------------- loop
    def evaluate_loss(self, pairs: EncodedPairs) -> float:
        self.model.eval()
        total = 0.0
        tokens = 0
        batches = token_batches(
            [len(s) for s in pairs.sources],
            [len(t) for t in pairs.targets],
            batch_tokens=self.params.batch_tokens * 2,  # no gradients: twice the batch fits
            max_batch_size=self.params.max_batch_size * 2,
        )
        with torch.inference_mode(), self._autocast():
            for indices in batches:
                batch = collate(pairs, indices).to(self.device)
                output = self.model(batch.src, batch.src_lengths, batch.tgt_in)
                loss = self.eval_loss_fn(
                    output.logits.float().flatten(0, 1), batch.tgt_out.flatten()
                )
                total += loss.item()
                tokens += batch.num_target_tokens
        return total / max(tokens, 1)

    def _train_step(self, batches: list[Batch], ratio: float) -> tuple[float, int]:
        """One optimizer step over ``grad_accum_steps`` batches; loss is per target token."""
        step_tokens = sum(batch.num_target_tokens for batch in batches)
        loss_sum = 0.0
        for batch in batches:
            with self._autocast():
                output = self.model(batch.src, batch.src_lengths, batch.tgt_in, ratio)
                loss = self.loss_fn(output.logits.float().flatten(0, 1), batch.tgt_out.flatten())
            self.scaler.scale(loss / step_tokens).backward()
            loss_sum += loss.item()
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.model.parameters(), self.params.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if isinstance(self.scheduler, torch.optim.lr_scheduler.LambdaLR):
            self.scheduler.step()
        return loss_sum, step_tokens

    def fit(
        self,
        train: EncodedPairs,
        validation: EncodedPairs,
        on_epoch_end: Callable[[EpochRecord], None] | None = None,
        on_step_end: Callable[[int], None] | None = None,
    ) -> Progress:
        accum = self.params.grad_accum_steps
        steps_per_epoch = math.ceil(len(self.epoch_batches(train, 0)) / accum)
        self._make_scheduler(steps_per_epoch)
        self.try_resume()
        pin = self.device.type == "cuda"
        progress = self.progress

        with stop_on_signals() as signals:
            while progress.epoch < self.params.max_epochs and not progress.finished:
                self.model.train()
                ratio = teacher_forcing_ratio(self.params, progress.epoch)
                batches = self.epoch_batches(train, progress.epoch)
                groups = [batches[i : i + accum] for i in range(0, len(batches), accum)]
                bar = tqdm(
                    total=len(groups),
                    initial=progress.batch_index,
                    desc=f"epoch {progress.epoch + 1}/{self.params.max_epochs}",
                    unit="step",
                    disable=None,
                    mininterval=1.0,
                )
                started = last_report = time.perf_counter()
                for group_index in range(progress.batch_index, len(groups)):
                    group = [
                        collate(train, idx, pin).to(self.device) for idx in groups[group_index]
                    ]
                    loss_sum, tokens = self._train_step(group, ratio)
                    progress.epoch_loss_sum += loss_sum
                    progress.epoch_tokens += tokens
                    progress.batch_index = group_index + 1
                    progress.global_step += 1
                    elapsed = progress.epoch_seconds + time.perf_counter() - started
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{progress.epoch_loss_sum / progress.epoch_tokens:.3f}",
                        tok_s=f"{progress.epoch_tokens / max(elapsed, 1e-9):.0f}",
                        refresh=False,
                    )
                    if bar.disable and time.perf_counter() - last_report > LOG_EVERY_SECONDS:
                        # No terminal (CI, dvc repro into a log): a line now and then instead.
                        last_report = time.perf_counter()
                        log.info(
                            "epoch %d: step %d/%d, loss %.3f, %.0f target tokens/s",
                            progress.epoch + 1,
                            group_index + 1,
                            len(groups),
                            progress.epoch_loss_sum / progress.epoch_tokens,
                            progress.epoch_tokens / max(elapsed, 1e-9),
                        )
                    if on_step_end is not None:
                        on_step_end(progress.global_step)
                    every = self.params.checkpoint_every_steps
                    if signals or (every and progress.global_step % every == 0):
                        progress.epoch_seconds += time.perf_counter() - started
                        started = time.perf_counter()
                        self.save_checkpoint(self.last_checkpoint)
                        if signals:
                            bar.close()
                            raise TrainingInterrupted(signals[0], self.last_checkpoint)
                bar.close()
                progress.epoch_seconds += time.perf_counter() - started
                record = self._end_epoch(validation, ratio)
                if on_epoch_end is not None:
                    on_epoch_end(record)
                if signals:
                    raise TrainingInterrupted(signals[0], self.last_checkpoint)
        return progress

    def _end_epoch(self, validation: EncodedPairs, ratio: float) -> EpochRecord:
        progress = self.progress
        val_loss = self.evaluate_loss(validation)
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(val_loss)
        record = EpochRecord(
            epoch=progress.epoch + 1,
            train_loss=progress.epoch_loss_sum / max(progress.epoch_tokens, 1),
            val_loss=val_loss,
            val_perplexity=math.exp(min(val_loss, 50.0)),
            lr=self.optimizer.param_groups[0]["lr"],
            tokens_per_second=progress.epoch_tokens / max(progress.epoch_seconds, 1e-9),
            teacher_forcing=ratio,
            seconds=progress.epoch_seconds,
        )
        progress.history.append(asdict(record))
        improved = val_loss < progress.best_val_loss - 1e-4
        if improved:
            progress.best_val_loss, progress.best_epoch, progress.bad_epochs = (
                val_loss,
                record.epoch,
                0,
            )
        else:
            progress.bad_epochs += 1
        log.info(
            "epoch %d: train loss %.4f, validation loss %.4f (ppl %.1f), %.0f tokens/s%s",
            record.epoch,
            record.train_loss,
            val_loss,
            record.val_perplexity,
            record.tokens_per_second,
            " *" if improved else "",
        )
        progress.epoch += 1
        progress.batch_index = 0
        progress.epoch_loss_sum = 0.0
        progress.epoch_tokens = 0
        progress.epoch_seconds = 0.0
        if progress.bad_epochs >= self.params.early_stopping_patience:
            log.info("early stopping: no improvement for %d epoch(s)", progress.bad_epochs)
            progress.finished = True
        if progress.epoch >= self.params.max_epochs:
            progress.finished = True
        if improved:
            self.save_checkpoint(self.best_checkpoint)
        self.save_checkpoint(self.last_checkpoint)
        return record


# ------------------------------------------------------------------------------- the stage
def load_pairs(split: str, src_vocab: Vocab, tgt_vocab: Vocab) -> EncodedPairs:
    path = Paths.processed_split(split)
    if not path.is_file():
        raise DataError(f"{path}: not found; run the tokenize stage first")
    table = pd.read_parquet(path, columns=["source", "target"])
    return EncodedPairs.from_tokens(
        table["source"].tolist(), table["target"].tolist(), src_vocab, tgt_vocab
    )


def _fingerprint(params: Params, data_hash: str) -> str:
    """Identity of a training configuration: a checkpoint is resumed only if this matches."""
    relevant = ("model", "train", "vocab", "tokenize", "dataset")
    payload = json.dumps(
        {k: v for k, v in params.to_flat_dict().items() if k.split(".")[0] in relevant},
        sort_keys=True,
    )
    return hashlib.sha256((payload + data_hash).encode()).hexdigest()


def write_history(history: list[dict[str, float]], csv_path: Path, png_path: Path) -> None:
    frame = pd.DataFrame(history)
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(frame["epoch"], frame["train_loss"], marker="o", label="train")
    axes[0].plot(frame["epoch"], frame["val_loss"], marker="o", label="validation")
    axes[0].set(title="loss per target token", xlabel="epoch")
    axes[0].legend()
    axes[1].plot(frame["epoch"], frame["lr"], marker="o")
    axes[1].set(title="learning rate (end of epoch)", xlabel="epoch")
    axes[2].plot(frame["epoch"], frame["tokens_per_second"], marker="o")
    axes[2].set(title="target tokens / s", xlabel="epoch")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def run_train(params: Params) -> dict[str, Any]:
    """Stage ``train``: fit the model, track it in MLflow, export the best weights."""
    from summarizer import tracking

    uri = tracking.tracking_uri(params.tracking.uri)
    tracking.ensure_reachable(uri)  # before an hour of training, not after

    src_vocab = Vocab.load(Paths.vocab_file("source"))
    tgt_vocab = Vocab.load(Paths.vocab_file("target"))
    train = load_pairs("train", src_vocab, tgt_vocab)
    validation = load_pairs("validation", src_vocab, tgt_vocab)
    if params.train.max_train_examples is not None:
        train = train.subset(params.train.max_train_examples)
    data_hash = tracking.hash_files(
        [Paths.processed_split("train"), Paths.processed_split("validation"), Paths.vocab_dir]
    )
    config = model_config(params.model, len(src_vocab), len(tgt_vocab))
    trainer = Trainer(
        params.train, config, Paths.checkpoints, fingerprint=_fingerprint(params, data_hash)
    )
    log.info(
        "training %s parameters on %s (%s) with %d pairs, validating on %d",
        f"{trainer.model.num_parameters():,}",
        trainer.device,
        trainer.autocast_dtype or "fp32",
        len(train),
        len(validation),
    )

    previous_run = trainer.resumable_run_id()
    run = tracking.TrainingRun.start(
        uri,
        params.tracking.experiment,
        run_id=previous_run,
        params=params.to_flat_dict(),
        tags={**tracking.git_tags(), "data_hash": data_hash, "dataset": params.dataset.name},
    )
    trainer.run_id = run.run_id
    if previous_run is None:
        # A fresh run must not resume a stale checkpoint of the same fingerprint.
        for stale in (Paths.last_checkpoint, Paths.best_checkpoint):
            stale.unlink(missing_ok=True)

    def record_run(finished: bool) -> None:
        write_json(
            Paths.train_run,
            {
                "run_id": run.run_id,
                "tracking_uri": uri,
                "experiment": params.tracking.experiment,
                "finished": finished,
            },
        )

    record_run(finished=False)

    def on_epoch_end(record: EpochRecord) -> None:
        metrics = {k: v for k, v in asdict(record).items() if k != "epoch"}
        run.log_metrics(metrics, step=record.epoch)

    started = time.perf_counter()
    try:
        with run.system_metrics(params.tracking.log_system_metrics):
            progress = trainer.fit(train, validation, on_epoch_end=on_epoch_end)
    except TrainingInterrupted:
        run.end("KILLED")
        raise
    except BaseException:
        run.end("FAILED")
        raise
    elapsed = time.perf_counter() - started

    best = torch.load(trainer.best_checkpoint, map_location="cpu", weights_only=False)
    history = progress.history
    best_record = next(r for r in history if r["epoch"] == progress.best_epoch)
    metrics = {
        "best_epoch": progress.best_epoch,
        "epochs": len(history),
        "best_val_loss": round(progress.best_val_loss, 5),
        "best_val_perplexity": round(best_record["val_perplexity"], 3),
        "first_epoch_val_loss": round(history[0]["val_loss"], 5),
        "final_train_loss": round(history[-1]["train_loss"], 5),
        "tokens_per_second": round(sum(r["tokens_per_second"] for r in history) / len(history), 1),
        "train_seconds": round(elapsed, 1),
        "parameters": trainer.model.num_parameters(),
        "device": str(trainer.device),
    }
    meta = {**metrics, "data_hash": data_hash, "run_id": run.run_id, "dataset": params.dataset.name}
    save_model_dir(
        Paths.model_dir, best["model"], config, params.tokenize, src_vocab, tgt_vocab, meta
    )
    plot = Paths.reports / "train_history.png"
    write_history(history, Paths.train_history, plot)
    write_json(Paths.train_metrics, metrics)

    run.log_metrics({f"best_{k}": v for k, v in metrics.items() if isinstance(v, float)})
    run.log_artifact(Paths.model_dir / "config.json", "model")
    run.log_artifact(Paths.model_dir / "vocab", "model/vocab")
    run.log_artifact(Paths.train_history, "training")
    run.log_artifact(plot, "training")
    run.end("FINISHED")
    record_run(finished=True)
    log.info(
        "best epoch %d: validation loss %.4f; model in %s (MLflow run %s)",
        progress.best_epoch,
        progress.best_val_loss,
        Paths.model_dir,
        run.run_id,
    )
    return metrics
