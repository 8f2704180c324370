"""Stopping on SIGINT/SIGTERM between optimizer steps, so the run can be checkpointed first."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

from summarizer.errors import SummarizerError

log = logging.getLogger(__name__)


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
