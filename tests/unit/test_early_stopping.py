"""Early stopping: best value and epoch, patience, and a state that survives a checkpoint."""

from __future__ import annotations

import math

import pytest

from summarizer.training import EarlyStopper


def test_tracks_the_best_epoch_and_stops_after_patience_bad_epochs() -> None:
    stopper = EarlyStopper(patience=2)
    assert stopper.best_value == math.inf and stopper.best_epoch == -1
    assert [stopper.update(v, e) for e, v in enumerate([3.0, 2.0, 2.5, 1.9], 1)] == [
        True,
        True,
        False,
        True,
    ]
    assert (stopper.best_value, stopper.best_epoch, stopper.bad_epochs) == (1.9, 4, 0)
    assert not stopper.should_stop
    stopper.update(1.95, 5)
    assert not stopper.should_stop
    stopper.update(1.9, 6)  # equal is not better
    assert stopper.should_stop and stopper.best_epoch == 4


def test_an_improvement_smaller_than_min_delta_does_not_count() -> None:
    stopper = EarlyStopper(patience=1, min_delta=1e-4)
    stopper.update(1.0, 1)
    assert not stopper.update(1.0 - 5e-5, 2)
    assert stopper.should_stop and stopper.best_value == 1.0


def test_state_round_trips() -> None:
    stopper = EarlyStopper(patience=3)
    stopper.update(2.0, 1)
    stopper.update(2.1, 2)
    restored = EarlyStopper(patience=3)
    restored.load_state_dict(stopper.state_dict())
    assert vars(restored) == vars(stopper)


def test_patience_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="patience"):
        EarlyStopper(patience=0)
