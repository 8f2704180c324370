"""The training loop: optimizer steps, validation, and the points where the collaborators it is
given save checkpoints, decide to stop early and report progress.

Exactness of resume is a design goal: the batch order of an epoch is a pure function of
``(seed, epoch)``, every random generator is saved in the checkpoint, and checkpoints are only
written between optimizer steps. A run killed at any point and started again therefore ends with
the same weights as one that was never interrupted.

Coverage (``model.coverage``) is trained as a phase, as See et al. do on a converged model: from
epoch ``train.coverage_from_epoch`` the coverage loss joins the objective and the coverage
parameters train; before it they stay frozen at their initial zero, so the model computes what a
model without coverage would. Whether an epoch is in the phase is a function of the epoch alone,
so a resumed run enters the phase exactly where an uninterrupted one does.

Under ``torchrun`` (:mod:`summarizer.training.distributed`) each rank trains on its share of
every step's batches and the gradient is the sum over all ranks' tokens divided by their
count, so N ranks take the step one process takes accumulating N batches; the loop's sums, the
validation loss and the decision to stop on a signal are all-reduced, so every rank holds the
same progress and rank 0's checkpoint resumes them all.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from summarizer.batching import Batch, EncodedPairs, collate, rank_share, token_batches
from summarizer.config import TrainParams
from summarizer.errors import SummarizerError
from summarizer.model import Seq2Seq, Seq2SeqConfig, Seq2SeqOutput
from summarizer.training import distributed
from summarizer.training.checkpoints import CheckpointStore
from summarizer.training.device import (
    autocast,
    log_gpu_profile_hint,
    select_device,
    select_precision,
)
from summarizer.training.early_stopping import EarlyStopper
from summarizer.training.interrupts import TrainingInterrupted, stop_on_signals
from summarizer.training.losses import batch_loss, batch_loss_terms
from summarizer.training.progress import EpochRecord, Progress
from summarizer.training.reporting import ProgressReporter
from summarizer.training.rng import rng_state, seed_everything, set_rng_state
from summarizer.training.schedules import LearningRateSchedule, teacher_forcing_ratio

log = logging.getLogger(__name__)


class TrainingDiverged(SummarizerError):
    """The loss became NaN or infinite: the weights would be garbage from here on, so training
    stops at once, before the step that would have applied it."""


class ValidationLoss(NamedTuple):
    """A validation pass, per target token: the objective and its cross-entropy part."""

    loss: float  # cross-entropy + coverage_weight * coverage loss (with model.coverage)
    nll: float  # cross-entropy alone: the negative log-likelihood


class Trainer:
    """Fits a :class:`Seq2Seq` built from ``config`` with the optimisation of ``params``.

    It receives its collaborators rather than doing their jobs: ``checkpoints`` saves and resumes
    (None: nothing is saved and nothing resumed), ``early_stopper`` decides when to stop and which
    epoch is best (default: ``params.early_stopping_patience``), ``reporter`` shows progress
    (default: a :class:`ProgressReporter`). Building a trainer seeds every generator with
    ``params.seed``, so two trainers of the same params start from the same weights.
    """

    def __init__(
        self,
        params: TrainParams,
        config: Seq2SeqConfig,
        checkpoints: CheckpointStore | None = None,
        early_stopper: EarlyStopper | None = None,
        reporter: ProgressReporter | None = None,
    ) -> None:
        self.params = params
        self.config = config
        self.checkpoints = checkpoints
        self.early_stopper = early_stopper or EarlyStopper(params.early_stopping_patience)
        self.reporter = reporter or ProgressReporter()
        self.device = distributed.init(select_device(params.device))
        log_gpu_profile_hint(self.device, config, params)
        self.autocast_dtype = select_precision(params.precision, self.device)
        if params.threads:
            torch.set_num_threads(params.threads)
        # Rank 0 keeps the single process's seed; the others draw their own dropout masks.
        # Their initial weights do not matter: DistributedDataParallel copies rank 0's.
        seed_everything(params.seed + distributed.rank())
        self.model = Seq2Seq(config).to(self.device)
        # What train steps run: the model, or the model inside DistributedDataParallel, which
        # must be told of the coverage parameters that sit out the steps before their phase.
        sits_out = config.coverage and params.coverage_from_epoch > 1
        self.network = distributed.wrap(self.model, find_unused_parameters=sits_out)
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
        self.schedule: LearningRateSchedule | None = None  # built for an epoch length: fit
        self.progress = Progress()

    # ---------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, as tensors and plain containers."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict() if self.schedule is not None else None,
            "scaler": self.scaler.state_dict(),
            "progress": asdict(self.progress),
            "early_stopping": self.early_stopper.state_dict(),
            "rng": rng_state(),
            "config": self.config.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where the trainer that returned ``state`` from
        :meth:`state_dict` was (call :meth:`use_schedule` first)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.schedule is not None and state["scheduler"] is not None:
            self.schedule.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.progress = Progress(**state["progress"])
        self.early_stopper.load_state_dict(state["early_stopping"])
        ranks = state.get("rank_rng")
        own = ranks is not None and len(ranks) == distributed.world_size()
        set_rng_state(ranks[distributed.rank()] if own else state["rng"])

    def resume(self) -> bool:
        """Continue from the checkpoint store's resumable state, if it has one."""
        if self.checkpoints is None:
            return False
        with distributed.main_first():
            state = self.checkpoints.resumable(map_location=self.device)
        if state is None:
            return False
        self.load_state_dict(state)
        log.info(
            "resuming from %s: epoch %d, batch %d",
            self.checkpoints.current,
            self.progress.epoch + 1,
            self.progress.batch_index,
        )
        return True

    def save_checkpoint(self, best: bool = False) -> None:
        """Save the current state as the last checkpoint (or the best); nothing without a store.
        Every rank calls it (their generator states are gathered); rank 0 writes."""
        if self.checkpoints is None:
            return
        state = self.state_dict()
        if distributed.world_size() > 1:
            state["rank_rng"] = distributed.all_gather(state["rng"])
        if not distributed.is_main():
            return
        save = self.checkpoints.save_best if best else self.checkpoints.save_last
        save(state, finished=self.progress.finished)

    # ------------------------------------------------------------------------------- batching
    def epoch_batches(self, pairs: EncodedPairs, epoch: int) -> list[np.ndarray]:
        """Index arrays of this rank's batches of ``epoch``: length-bucketed, in an order fixed
        by ``(seed, epoch)`` alone, shared out among the ranks (:func:`rank_share`)."""
        rng = np.random.default_rng([self.params.seed, epoch])
        batches = token_batches(
            [len(s) for s in pairs.sources],
            [len(t) for t in pairs.targets],
            batch_tokens=self.params.batch_tokens,
            max_batch_size=self.params.max_batch_size,
            rng=rng,
        )
        return rank_share(batches, distributed.rank(), distributed.world_size())

    def steps_per_epoch(self, pairs: EncodedPairs) -> int:
        """Optimizer steps in an epoch over ``pairs`` (batches grouped by ``grad_accum_steps``)."""
        return math.ceil(len(self.epoch_batches(pairs, 0)) / self.params.grad_accum_steps)

    def use_schedule(self, steps_per_epoch: int) -> None:
        """Build the learning-rate schedule for epochs of ``steps_per_epoch`` optimizer steps.
        :meth:`fit` does this; code that drives :meth:`train_step` itself calls it first to get
        the same learning rates (without it the rate stays at ``params.lr``)."""
        self.schedule = LearningRateSchedule(self.optimizer, self.params, steps_per_epoch)

    # ---------------------------------------------------------------------------------- steps
    def in_coverage_phase(self, epoch: int) -> bool:
        """Whether the 0-based ``epoch`` trains coverage (loss and parameters)."""
        return self.config.coverage and epoch + 1 >= self.params.coverage_from_epoch

    def forward(
        self, batch: Batch, ratio: float = 1.0, network: nn.Module | None = None
    ) -> Seq2SeqOutput:
        """The outputs of ``network`` (default: the model) for ``batch`` (in extended ids for a
        copy model), scored only where the loss reads them."""
        if self.config.copy and batch.src_ext is None:
            raise ValueError(
                "a copy model trains on extended ids: build the pairs with "
                "EncodedPairs.from_tokens(..., extended=True)"
            )
        return (network or self.model)(
            batch.src,
            batch.src_lengths,
            batch.tgt_in,
            ratio,
            src_ext=batch.src_ext,
            num_oov=batch.num_oov,
            scored=batch.scored,
        )

    def validate(self, pairs: EncodedPairs) -> ValidationLoss:
        """Mean loss per target token over ``pairs`` with full teacher forcing (no label
        smoothing, no gradients), and its cross-entropy part; leaves the model in eval mode.

        With coverage the loss includes the coverage loss at every epoch, also before the phase:
        the objective the final model is trained for, so epochs compare and the best checkpoint
        is one that learned coverage. The cross-entropy part compares with any model. Each rank
        validates every N-th batch; the sums are all-reduced.
        """
        self.model.eval()
        nll = covered = 0.0
        tokens = 0
        batches = token_batches(
            [len(s) for s in pairs.sources],
            [len(t) for t in pairs.targets],
            batch_tokens=self.params.batch_tokens * 2,  # no gradients: twice the batch fits
            max_batch_size=self.params.max_batch_size * 2,
        )
        with torch.inference_mode(), autocast(self.device, self.autocast_dtype):
            for indices in batches[distributed.rank() :: distributed.world_size()]:
                batch = collate(pairs, indices).to(self.device)
                token, coverage = batch_loss_terms(
                    self.forward(batch), batch, self.config, 0.0, coverage=self.config.coverage
                )
                nll += token.item()
                covered += coverage.item() if coverage is not None else 0.0
                tokens += batch.num_target_tokens
        nll, covered, tokens = distributed.all_sum(nll, covered, tokens, device=self.device)
        tokens = max(tokens, 1)
        weight = self.params.coverage_weight if self.config.coverage else 0.0
        return ValidationLoss(loss=(nll + weight * covered) / tokens, nll=nll / tokens)

    def train_step(self, batches: list[Batch], ratio: float) -> tuple[float, int]:
        """One optimizer step over ``batches`` (gradients accumulated, normalised per target
        token, clipped) with teacher-forcing ``ratio``; advances a per-step schedule. Returns the
        summed loss and the number of target tokens, of every rank's ``batches`` together."""
        (step_tokens,) = distributed.all_sum(
            sum(batch.num_target_tokens for batch in batches), device=self.device
        )
        scale = distributed.gradient_scale()
        coverage = self.in_coverage_phase(self.progress.epoch)
        for p in self.model.coverage_parameters():
            p.requires_grad_(coverage)  # no gradient: AdamW leaves them at zero
        weight = self.params.coverage_weight if coverage else 0.0
        loss_sum = 0.0
        for position, batch in enumerate(batches):
            with distributed.gradient_sync(self.network, sync=position == len(batches) - 1):
                with autocast(self.device, self.autocast_dtype):
                    output = self.forward(batch, ratio, self.network)
                    loss = batch_loss(
                        output, batch, self.config, self.params.label_smoothing, weight
                    )
                self.scaler.scale(loss * scale / step_tokens).backward()
            loss_sum += loss.item()
        (loss_sum,) = distributed.all_sum(loss_sum, device=self.device)
        if not math.isfinite(loss_sum):
            progress = self.progress
            raise self._diverged(
                f"the training loss of step {progress.global_step + 1} (epoch "
                f"{progress.epoch + 1}, step {progress.batch_index + 1} of the epoch; the step was "
                "not applied)",
                loss_sum,
            )
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.model.parameters(), self.params.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.schedule is not None:
            self.schedule.step_done()
        return loss_sum, int(step_tokens)

    # ----------------------------------------------------------------------------------- loop
    def fit(
        self,
        train: EncodedPairs,
        validation: EncodedPairs,
        on_epoch_end: Callable[[EpochRecord], None] | None = None,
        on_step_end: Callable[[int], None] | None = None,
    ) -> Progress:
        """Train until ``max_epochs`` or early stopping, resuming the store's checkpoint if it
        has one; returns the progress (with the per-epoch history).

        ``on_step_end(global_step)`` runs after every optimizer step, ``on_epoch_end(record)``
        after every validation. SIGINT/SIGTERM end the current step, save ``last.pt`` and raise
        :class:`TrainingInterrupted`.
        """
        self.use_schedule(self.steps_per_epoch(train))
        self.resume()
        progress = self.progress
        with stop_on_signals() as signals:
            while progress.epoch < self.params.max_epochs and not progress.finished:
                ratio = teacher_forcing_ratio(self.params, progress.epoch)
                self._train_epoch(train, ratio, signals, on_step_end)
                record = self._end_epoch(validation, ratio)
                if on_epoch_end is not None:
                    on_epoch_end(record)
                stop = distributed.any_signal(signals, self.device)
                if stop:
                    raise self._interrupted(stop)
        return progress

    def _train_epoch(
        self,
        train: EncodedPairs,
        ratio: float,
        signals: list[int],
        on_step_end: Callable[[int], None] | None,
    ) -> None:
        """The remaining optimizer steps of the current epoch; checkpoints every
        ``checkpoint_every_steps`` and on a signal (then raises)."""
        progress, accum = self.progress, self.params.grad_accum_steps
        pin = self.device.type == "cuda"
        self.model.train()
        batches = self.epoch_batches(train, progress.epoch)
        groups = [batches[i : i + accum] for i in range(0, len(batches), accum)]
        self.reporter.start_epoch(
            progress.epoch + 1, self.params.max_epochs, len(groups), progress.batch_index
        )
        started = time.perf_counter()
        for group_index in range(progress.batch_index, len(groups)):
            group = [collate(train, idx, pin).to(self.device) for idx in groups[group_index]]
            try:
                loss_sum, tokens = self.train_step(group, ratio)
            except TrainingDiverged:
                self.reporter.close()  # the error goes on a line of its own
                raise
            progress.epoch_loss_sum += loss_sum
            progress.epoch_tokens += tokens
            progress.batch_index = group_index + 1
            progress.global_step += 1
            elapsed = progress.epoch_seconds + time.perf_counter() - started
            self.reporter.step(
                group_index + 1,
                loss=progress.epoch_loss_sum / progress.epoch_tokens,
                tokens_per_second=progress.epoch_tokens / max(elapsed, 1e-9),
            )
            if on_step_end is not None:
                on_step_end(progress.global_step)
            every = self.params.checkpoint_every_steps
            stop = distributed.any_signal(signals, self.device)  # one rank's signal stops all
            if stop or (every and progress.global_step % every == 0):
                progress.epoch_seconds += time.perf_counter() - started
                started = time.perf_counter()
                self.save_checkpoint()
                if stop:
                    self.reporter.close()
                    raise self._interrupted(stop)
        self.reporter.close()
        progress.epoch_seconds += time.perf_counter() - started

    def _end_epoch(self, validation: EncodedPairs, ratio: float) -> EpochRecord:
        """Validate, record the epoch, let the early stopper judge it, save checkpoints."""
        progress = self.progress
        validated = self.validate(validation)
        val_loss = validated.loss
        if not math.isfinite(val_loss):
            raise self._diverged(
                f"the validation loss of epoch {progress.epoch + 1} (after step "
                f"{progress.global_step})",
                val_loss,
            )
        if self.schedule is not None:
            self.schedule.epoch_done(val_loss)
        record = EpochRecord(
            epoch=progress.epoch + 1,
            train_loss=progress.epoch_loss_sum / max(progress.epoch_tokens, 1),
            val_loss=val_loss,
            val_nll=validated.nll,
            # Perplexity is of the likelihood alone: exp of the objective would multiply it by
            # exp(coverage loss), which is no probability.
            val_perplexity=math.exp(min(validated.nll, 50.0)),
            lr=self.optimizer.param_groups[0]["lr"],
            tokens_per_second=progress.epoch_tokens / max(progress.epoch_seconds, 1e-9),
            teacher_forcing=ratio,
            seconds=progress.epoch_seconds,
        )
        progress.history.append(asdict(record))
        improved = self.early_stopper.update(val_loss, record.epoch)
        self.reporter.end_epoch(record, improved)
        progress.next_epoch()
        if self.early_stopper.should_stop and self._coverage_phase_ahead():
            log.info(
                "no improvement for %d epoch(s), going on: the coverage phase starts at epoch %d",
                self.early_stopper.bad_epochs,
                self.params.coverage_from_epoch,
            )
        elif self.early_stopper.should_stop:
            log.info(
                "early stopping: no improvement for %d epoch(s)", self.early_stopper.bad_epochs
            )
            progress.finished = True
        if progress.epoch >= self.params.max_epochs:
            progress.finished = True
        if improved:
            self.save_checkpoint(best=True)
        self.save_checkpoint()
        return record

    def _coverage_phase_ahead(self) -> bool:
        """Whether the coverage phase is still to come (early stopping must not skip what the
        run is for)."""
        return (
            self.config.coverage
            and not self.in_coverage_phase(self.progress.epoch - 1)
            and self.params.coverage_from_epoch <= self.params.max_epochs
        )

    def _diverged(self, what: str, value: float) -> TrainingDiverged:
        return TrainingDiverged(
            f"training diverged: {what} is {value}, so training stopped. Lower train.lr (now "
            f"{self.params.lr:g}) or train.clip_grad_norm ({self.params.clip_grad_norm:g})"
        )

    def _interrupted(self, signum: int) -> TrainingInterrupted:
        checkpoint = self.checkpoints.current if self.checkpoints is not None else None
        return TrainingInterrupted(signum, checkpoint)
