"""What a training run has done so far: the per-epoch record and the resumable progress."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class EpochRecord:
    """One finished epoch, as logged per epoch to MLflow and written to the history CSV."""

    epoch: int  # 1-based
    train_loss: float  # per target token, over the whole epoch
    # The objective, with the coverage loss when the model has coverage (at every epoch, so
    # epochs compare): early stopping and the best checkpoint go by it.
    val_loss: float
    # Cross-entropy alone, per target token: comparable across the coverage phase's start and
    # with models without coverage.
    val_nll: float
    val_perplexity: float  # exp(val_nll)
    lr: float  # at the end of the epoch
    tokens_per_second: float  # target tokens
    teacher_forcing: float
    seconds: float


@dataclass
class Progress:
    """Everything besides tensors and the early stopper that a resumed run needs to continue
    exactly; plain numbers and containers, so a checkpoint holds it without pickled objects."""

    epoch: int = 0  # 0-based epoch being trained
    batch_index: int = 0  # next optimizer step of ``epoch`` to take
    global_step: int = 0
    finished: bool = False
    history: list[dict[str, float]] = field(default_factory=list)  # EpochRecords as dicts
    # running sums of the current epoch, so a mid-epoch resume reports the same train loss
    epoch_loss_sum: float = 0.0
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0

    def step_done(self, loss_sum: float, tokens: int) -> None:
        """Count an optimizer step of the current epoch, of ``tokens`` target tokens whose loss
        summed to ``loss_sum``."""
        self.epoch_loss_sum += loss_sum
        self.epoch_tokens += tokens
        self.batch_index += 1
        self.global_step += 1

    def record_epoch(
        self, val_loss: float, val_nll: float, lr: float, teacher_forcing: float
    ) -> EpochRecord:
        """The record of the current epoch, which validated at ``val_loss`` (``val_nll`` its
        cross-entropy part), added to the history."""
        record = EpochRecord(
            epoch=self.epoch + 1,
            train_loss=self.epoch_loss_sum / max(self.epoch_tokens, 1),
            val_loss=val_loss,
            val_nll=val_nll,
            # Perplexity is of the likelihood alone: exp of the objective would multiply it by
            # exp(coverage loss), which is no probability.
            val_perplexity=math.exp(min(val_nll, 50.0)),
            lr=lr,
            tokens_per_second=self.epoch_tokens / max(self.epoch_seconds, 1e-9),
            teacher_forcing=teacher_forcing,
            seconds=self.epoch_seconds,
        )
        self.history.append(asdict(record))
        return record

    def next_epoch(self) -> None:
        """Move to the start of the next epoch, its running sums at zero."""
        self.epoch += 1
        self.batch_index = 0
        self.epoch_loss_sum = 0.0
        self.epoch_tokens = 0
        self.epoch_seconds = 0.0
