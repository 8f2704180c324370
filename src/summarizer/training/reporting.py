"""Training progress for the person watching: a bar on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import time

from tqdm.auto import tqdm

from summarizer.training.progress import EpochRecord

log = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 30.0


class ProgressReporter:
    """Reports steps and epochs of training; never changes what is trained.

    On a terminal each epoch has a tqdm bar with the running loss and throughput; without one
    (CI, ``dvc repro`` into a log) a line is logged every ``every_seconds`` instead. Every finished
    epoch gets one log line either way.
    """

    def __init__(self, every_seconds: float = LOG_EVERY_SECONDS) -> None:
        self.every_seconds = every_seconds
        self._bar: tqdm | None = None
        self._last_line = 0.0
        self._epoch = 0
        self._steps = 0

    def start_epoch(self, epoch: int, max_epochs: int, steps: int, done: int) -> None:
        """Epoch ``epoch`` (1-based) of ``max_epochs`` begins, ``done`` of its ``steps``
        optimizer steps already taken (a resumed epoch)."""
        self.close()
        self._epoch, self._steps = epoch, steps
        self._bar = tqdm(
            total=steps,
            initial=done,
            desc=f"epoch {epoch}/{max_epochs}",
            unit="step",
            disable=None,  # None: off when stderr is not a terminal
            mininterval=1.0,
        )
        self._last_line = time.perf_counter()

    def step(self, step: int, loss: float, tokens_per_second: float) -> None:
        """Step ``step`` (1-based) of the epoch is done; ``loss`` is the epoch's running loss
        per target token."""
        if self._bar is None:
            return
        self._bar.update(1)
        self._bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens_per_second:.0f}", refresh=False)
        if self._bar.disable and time.perf_counter() - self._last_line > self.every_seconds:
            self._last_line = time.perf_counter()
            log.info(
                "epoch %d: step %d/%d, loss %.3f, %.0f target tokens/s",
                self._epoch,
                step,
                self._steps,
                loss,
                tokens_per_second,
            )

    def close(self) -> None:
        """The epoch's steps are over (or interrupted): close its bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def end_epoch(self, record: EpochRecord, improved: bool) -> None:
        """Log the finished epoch; ``improved`` marks a new best validation loss with a star."""
        log.info(
            "epoch %d: train loss %.4f, validation loss %.4f (NLL %.4f, ppl %.1f), %.0f tokens/s%s",
            record.epoch,
            record.train_loss,
            record.val_loss,
            record.val_nll,
            record.val_perplexity,
            record.tokens_per_second,
            " *" if improved else "",
        )
