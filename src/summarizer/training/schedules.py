"""What changes with training time: the learning rate (the one place its scheduler is built), the
teacher-forcing ratio and the coverage phase.

Coverage (``model.coverage``) is trained as a phase, as See et al. do on a converged model: from
epoch ``train.coverage_from_epoch`` the coverage loss joins the objective and the coverage
parameters train; before it they stay frozen at their initial zero, so the model computes what a
model without coverage would. Whether an epoch is in the phase is a function of the epoch alone,
so a resumed run enters the phase exactly where an uninterrupted one does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from summarizer.config.training import TrainParams


def lr_factor(params: TrainParams, total_steps: int) -> Callable[[int], float]:
    """The multiplier of ``params.lr`` at each optimizer step: linear warm-up, then cosine decay
    to ``min_lr_ratio`` at the last of ``total_steps`` (1.0 throughout for ``constant``)."""

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
    """The share of gold previous tokens fed to the decoder in ``epoch`` (0-based): linear from
    ``teacher_forcing`` at the first epoch to ``teacher_forcing_min`` at the last."""
    if params.max_epochs == 1:
        return params.teacher_forcing
    share = epoch / (params.max_epochs - 1)
    return params.teacher_forcing - (params.teacher_forcing - params.teacher_forcing_min) * share


def coverage_phase(params: TrainParams, coverage: bool, epoch: int) -> bool:
    """Whether the 0-based ``epoch`` trains coverage (loss and parameters), for a model with
    ``coverage``."""
    return coverage and epoch + 1 >= params.coverage_from_epoch


def coverage_phase_ahead(params: TrainParams, coverage: bool, epoch: int) -> bool:
    """Whether the coverage phase is still to come after the 0-based ``epoch``, for a model with
    ``coverage`` (early stopping must not skip what the run is for)."""
    return (
        coverage
        and not coverage_phase(params, coverage, epoch)
        and params.coverage_from_epoch <= params.max_epochs
    )


class LearningRateSchedule:
    """The scheduler ``train.scheduler`` names, over ``optimizer``, stepped when it should be.

    ``warmup_decay`` and ``constant`` follow :func:`lr_factor` and advance after every optimizer
    step; ``plateau`` scales the rate by ``plateau_factor`` when the validation loss has not
    improved for ``plateau_patience`` epochs, and advances once per epoch.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, params: TrainParams, steps_per_epoch: int
    ) -> None:
        self.scheduler: torch.optim.lr_scheduler.LRScheduler
        if params.scheduler == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=params.plateau_factor, patience=params.plateau_patience
            )
        else:
            total = steps_per_epoch * params.max_epochs
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(params, total))

    @property
    def per_epoch(self) -> bool:
        """Whether the rate changes on the validation loss at epoch ends (``plateau``)."""
        return isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)

    def step_done(self) -> None:
        """Advance after an optimizer step (per-step schedules only)."""
        if not self.per_epoch:
            self.scheduler.step()

    def epoch_done(self, val_loss: float) -> None:
        """Advance after an epoch scored ``val_loss`` on validation (per-epoch schedules only)."""
        if self.per_epoch:
            self.scheduler.step(val_loss)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state, to save in a checkpoint."""
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a state returned by :meth:`state_dict`."""
        self.scheduler.load_state_dict(state)
