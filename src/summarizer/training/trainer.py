"""The training loop: optimizer steps, validation, and the points where the collaborators it is
given save checkpoints, decide to stop early and report progress. What it trains with (device,
precision, model, optimizer) is built by :mod:`summarizer.training.build`.

Exactness of resume is a design goal: the batch order of an epoch is a pure function of
``(seed, epoch)``, every random generator is saved in the checkpoint
(:mod:`summarizer.training.state`), and checkpoints are only written between optimizer steps. A
run killed at any point and started again therefore ends with the same weights as one that was
never interrupted.

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
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from summarizer.batching import Batch, EncodedPairs, collate, rank_share, token_batches
from summarizer.config.training import TrainParams
from summarizer.model import Seq2SeqOutput
from summarizer.training import distributed
from summarizer.training.checkpoints import CheckpointStore
from summarizer.training.device import autocast
from summarizer.training.early_stopping import EarlyStopper
from summarizer.training.interrupts import TrainingDiverged, TrainingInterrupted, stop_on_signals
from summarizer.training.losses import batch_loss
from summarizer.training.progress import EpochRecord, Progress
from summarizer.training.reporting import ProgressReporter
from summarizer.training.schedules import (
    LearningRateSchedule,
    coverage_phase,
    coverage_phase_ahead,
    teacher_forcing_ratio,
)
from summarizer.training.state import resume, save_checkpoint
from summarizer.training.validation import ValidationLoss, validation_loss

if TYPE_CHECKING:
    from summarizer.training.build import TrainingParts

log = logging.getLogger(__name__)


class Trainer:
    """Fits the model of ``parts`` with the optimisation of ``params``.

    It is given what it trains with, ``parts`` (:func:`~summarizer.training.build.build_parts`:
    device, autocast dtype, model, the network its steps run, optimizer, loss scaler), and its
    collaborators rather than doing their jobs: ``checkpoints`` saves and resumes (None: nothing
    is saved and nothing resumed), ``early_stopper`` decides when to stop and which epoch is best
    (default: ``params.early_stopping_patience``), ``reporter`` shows progress (default: a
    :class:`ProgressReporter`). The learning-rate schedule it builds itself, for the epoch
    length of the pairs it fits (:meth:`use_schedule`).
    """

    def __init__(
        self,
        params: TrainParams,
        parts: TrainingParts,
        checkpoints: CheckpointStore | None = None,
        early_stopper: EarlyStopper | None = None,
        reporter: ProgressReporter | None = None,
    ) -> None:
        self.params = params
        self.device, self.autocast_dtype = parts.device, parts.autocast_dtype
        self.model, self.network = parts.model, parts.network
        self.optimizer, self.scaler = parts.optimizer, parts.scaler
        self.config = parts.model.config
        self.checkpoints = checkpoints
        self.early_stopper = early_stopper or EarlyStopper(params.early_stopping_patience)
        self.reporter = reporter or ProgressReporter()
        self.schedule: LearningRateSchedule | None = None
        self.progress = Progress()

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
        return coverage_phase(self.params, self.config.coverage, epoch)

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
        """:func:`~summarizer.training.validation.validation_loss` of the model over ``pairs``;
        leaves the model in eval mode."""
        self.model.eval()
        return validation_loss(
            self.forward, pairs, self.params, self.config, self.device, self.autocast_dtype
        )

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
            raise TrainingDiverged.in_step(self.progress, loss_sum, self.params)
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
        resume(self)
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
            progress.step_done(loss_sum, tokens)
            elapsed = progress.epoch_seconds + time.perf_counter() - started
            self.reporter.step(
                progress.batch_index,
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
                save_checkpoint(self)
                if stop:
                    self.reporter.close()
                    raise self._interrupted(stop)
        self.reporter.close()
        progress.epoch_seconds += time.perf_counter() - started

    def _end_epoch(self, validation: EncodedPairs, ratio: float) -> EpochRecord:
        """Validate, record the epoch, let the early stopper judge it, save checkpoints."""
        progress = self.progress
        validated = self.validate(validation)
        if not math.isfinite(validated.loss):
            raise TrainingDiverged.in_validation(progress, validated.loss, self.params)
        if self.schedule is not None:
            self.schedule.epoch_done(validated.loss)
        lr = self.optimizer.param_groups[0]["lr"]
        record = progress.record_epoch(validated.loss, validated.nll, lr, ratio)
        improved = self.early_stopper.update(validated.loss, record.epoch)
        self.reporter.end_epoch(record, improved)
        progress.next_epoch()
        if self.early_stopper.should_stop and coverage_phase_ahead(
            self.params, self.config.coverage, progress.epoch - 1
        ):
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
            save_checkpoint(self, best=True)
        save_checkpoint(self)
        return record

    def _interrupted(self, signum: int) -> TrainingInterrupted:
        checkpoint = self.checkpoints.current if self.checkpoints is not None else None
        return TrainingInterrupted(signum, checkpoint)
