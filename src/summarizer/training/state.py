"""What a checkpoint holds of a :class:`~summarizer.training.trainer.Trainer`, and its way into
and out of the trainer's checkpoint store on every rank.

The state is everything a resumed run needs to end with the same weights as one never
interrupted: the model's, optimizer's, learning-rate schedule's and loss scaler's states, the
progress, the early stopper's and every random generator's, all tensors and plain containers.
Under torchrun every rank's generators are saved, so each rank resumes its own dropout masks.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from summarizer.training import distributed
from summarizer.training.progress import Progress
from summarizer.training.rng import rng_state, set_rng_state

if TYPE_CHECKING:
    from summarizer.training.trainer import Trainer

log = logging.getLogger(__name__)


def trainer_state(trainer: Trainer) -> dict[str, Any]:
    """Everything a resumed run needs of ``trainer``."""
    return {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.schedule.state_dict() if trainer.schedule is not None else None,
        "scaler": trainer.scaler.state_dict(),
        "progress": asdict(trainer.progress),
        "early_stopping": trainer.early_stopper.state_dict(),
        "rng": rng_state(),
        "config": trainer.config.to_dict(),
    }


def load_trainer_state(trainer: Trainer, state: dict[str, Any]) -> None:
    """Put ``trainer`` exactly where the trainer whose :func:`trainer_state` ``state`` is was
    (build its schedule first: :meth:`~summarizer.training.trainer.Trainer.use_schedule`)."""
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.schedule is not None and state["scheduler"] is not None:
        trainer.schedule.load_state_dict(state["scheduler"])
    trainer.scaler.load_state_dict(state["scaler"])
    trainer.progress = Progress(**state["progress"])
    trainer.early_stopper.load_state_dict(state["early_stopping"])
    ranks = state.get("rank_rng")
    own = ranks is not None and len(ranks) == distributed.world_size()
    set_rng_state(ranks[distributed.rank()] if own else state["rng"])


def save_checkpoint(trainer: Trainer, best: bool = False) -> None:
    """Save the state of ``trainer`` as its store's last checkpoint (or the best); nothing
    without a store. Every rank calls it (their generator states are gathered); rank 0 writes."""
    store = trainer.checkpoints
    if store is None:
        return
    state = trainer_state(trainer)
    if distributed.world_size() > 1:
        state["rank_rng"] = distributed.all_gather(state["rng"])
    if not distributed.is_main():
        return
    save = store.save_best if best else store.save_last
    save(state, finished=trainer.progress.finished)


def resume(trainer: Trainer) -> bool:
    """Continue ``trainer`` from its store's resumable state, if it has one."""
    store = trainer.checkpoints
    if store is None:
        return False
    with distributed.main_first():
        state = store.resumable(map_location=trainer.device)
    if state is None:
        return False
    load_trainer_state(trainer, state)
    log.info(
        "resuming from %s: epoch %d, batch %d",
        store.current,
        trainer.progress.epoch + 1,
        trainer.progress.batch_index,
    )
    return True
