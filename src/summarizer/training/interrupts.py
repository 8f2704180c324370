"""Training that stops before its end: on SIGINT/SIGTERM between optimizer steps, so the run can
be checkpointed first, or at once on a loss that is no longer finite."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from summarizer.errors import SummarizerError

if TYPE_CHECKING:
    from summarizer.config.training import TrainParams
    from summarizer.training.progress import Progress

log = logging.getLogger(__name__)


class TrainingDiverged(SummarizerError):
    """The loss became NaN or infinite: the weights would be garbage from here on, so training
    stops at once, before the step that would have applied it."""

    @classmethod
    def in_step(cls, progress: Progress, loss: float, params: TrainParams) -> TrainingDiverged:
        """The training loss of the step after ``progress`` was ``loss``."""
        return cls._of(
            f"the training loss of step {progress.global_step + 1} (epoch {progress.epoch + 1}, "
            f"step {progress.batch_index + 1} of the epoch; the step was not applied)",
            loss,
            params,
        )

    @classmethod
    def in_validation(
        cls, progress: Progress, loss: float, params: TrainParams
    ) -> TrainingDiverged:
        """The validation loss of the epoch ``progress`` is in was ``loss``."""
        return cls._of(
            f"the validation loss of epoch {progress.epoch + 1} (after step "
            f"{progress.global_step})",
            loss,
            params,
        )

    @classmethod
    def _of(cls, what: str, value: float, params: TrainParams) -> TrainingDiverged:
        return cls(
            f"training diverged: {what} is {value}, so training stopped. Lower train.lr (now "
            f"{params.lr:g}) or train.clip_grad_norm ({params.clip_grad_norm:g})"
        )


class TrainingInterrupted(SummarizerError):
    """Training stopped on signal ``signum``; when ``checkpoint`` is a path, a checkpoint was
    saved there first and running again resumes from it."""

    def __init__(self, signum: int, checkpoint: Path | None) -> None:
        self.signum = signum
        self.checkpoint = checkpoint
        name = signal.Signals(signum).name
        if checkpoint is None:
            super().__init__(f"{name} received: training stopped (no checkpoint store given)")
        else:
            super().__init__(
                f"{name} received: checkpoint saved to {checkpoint}; run again to resume"
            )


@contextlib.contextmanager
def stop_on_signals() -> Iterator[list[int]]:
    """Record SIGINT/SIGTERM in the yielded list instead of dying, so the loop can finish its
    step and checkpoint; a second signal raises KeyboardInterrupt at once. The previous handlers
    are restored on exit."""
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
