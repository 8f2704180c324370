"""Learning-rate and teacher-forcing schedules, and the one place the scheduler is built."""

from __future__ import annotations

import pytest
import torch

from summarizer.config.training import TrainParams
from summarizer.training import LearningRateSchedule, lr_factor, teacher_forcing_ratio


def optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_teacher_forcing_schedule_goes_linearly_to_minimum() -> None:
    params = TrainParams(max_epochs=5, teacher_forcing=1.0, teacher_forcing_min=0.5)
    assert [teacher_forcing_ratio(params, e) for e in range(5)] == [1.0, 0.875, 0.75, 0.625, 0.5]
    assert teacher_forcing_ratio(TrainParams(max_epochs=1, teacher_forcing=0.7), 0) == 0.7


def test_lr_factor_warms_up_linearly_then_decays_to_the_floor() -> None:
    params = TrainParams(warmup_steps=4, min_lr_ratio=0.1)
    factor = lr_factor(params, total_steps=14)
    assert [factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert factor(4) == pytest.approx(1.0)
    assert factor(9) == pytest.approx(0.55)  # half-way down the cosine
    assert factor(14) == pytest.approx(0.1) and factor(100) == pytest.approx(0.1)
    constant = lr_factor(TrainParams(scheduler="constant", warmup_steps=4), 14)
    assert {constant(s) for s in range(20)} == {1.0}


def test_warmup_decay_advances_per_step_and_ignores_epoch_ends() -> None:
    opt = optimizer(lr=2.0)
    params = TrainParams(lr=2.0, warmup_steps=2, max_epochs=2, min_lr_ratio=0.0)
    schedule = LearningRateSchedule(opt, params, steps_per_epoch=3)
    assert not schedule.per_epoch
    rates = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        opt.step()
        schedule.step_done()
        schedule.epoch_done(1.0)  # no effect on a per-step schedule
        rates.append(opt.param_groups[0]["lr"])
    assert rates[:2] == [1.0, 2.0]
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)  # the last of 2 x 3 steps: the floor


def test_plateau_advances_only_on_validation_loss() -> None:
    opt = optimizer(lr=1.0)
    params = TrainParams(scheduler="plateau", plateau_factor=0.5, plateau_patience=0)
    schedule = LearningRateSchedule(opt, params, steps_per_epoch=3)
    assert schedule.per_epoch
    schedule.step_done()
    assert opt.param_groups[0]["lr"] == 1.0
    schedule.epoch_done(1.0)
    schedule.epoch_done(1.0)  # no improvement with patience 0: halve
    assert opt.param_groups[0]["lr"] == 0.5


def test_state_round_trips_into_a_fresh_schedule() -> None:
    params = TrainParams(warmup_steps=3, max_epochs=2)
    first_opt = optimizer()
    first = LearningRateSchedule(first_opt, params, steps_per_epoch=5)
    for _ in range(4):
        first_opt.step()
        first.step_done()
    second_opt = optimizer()
    second = LearningRateSchedule(second_opt, params, steps_per_epoch=5)
    second.load_state_dict(first.state_dict())
    first_opt.step()
    first.step_done()
    second_opt.step()
    second.step_done()
    assert second.scheduler.get_last_lr() == first.scheduler.get_last_lr()
