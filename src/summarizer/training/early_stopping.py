"""Early stopping on the validation loss: the best value so far, when it was reached, and how
many epochs have passed without beating it."""

from __future__ import annotations

import math
from typing import Any


class EarlyStopper:
    """Tracks a loss to minimise, one value per epoch, and says when to stop.

    An epoch improves when its value is lower than the best so far by more than ``min_delta``;
    training should stop after ``patience`` epochs in a row that did not. The state is plain
    numbers (:meth:`state_dict`), so a resumed run stops exactly where an uninterrupted one would.
    """

    def __init__(self, patience: int, min_delta: float = 1e-4) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.patience = patience
        self.min_delta = min_delta
        self.best_value = math.inf
        self.best_epoch = -1  # 1-based epoch of best_value; -1 before the first update
        self.bad_epochs = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record ``value`` of ``epoch`` (1-based); True when it is the new best."""
        if value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        """Whether the last ``patience`` epochs all failed to improve."""
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """The progress so far, as plain numbers for a checkpoint."""
        return {
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a state returned by :meth:`state_dict`."""
        self.best_value = float(state["best_value"])
        self.best_epoch = int(state["best_epoch"])
        self.bad_epochs = int(state["bad_epochs"])
