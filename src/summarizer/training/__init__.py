"""Training: the loop (:class:`Trainer`), what it trains with (:func:`build_trainer` builds the
device, precision, model and optimizer), the collaborators it is given (checkpoint store, early
stopper, progress reporter) and the schedules. The ``train`` stage is
:mod:`summarizer.stages.train`.

Nothing here imports MLflow at import time: the stage imports the tracking layer when it runs.
"""

from summarizer.training.build import TrainingParts, build_parts, build_trainer, model_config
from summarizer.training.checkpoints import CheckpointError, CheckpointStore, load_checkpoint
from summarizer.training.device import DeviceError, select_device, select_precision
from summarizer.training.early_stopping import EarlyStopper
from summarizer.training.interrupts import TrainingDiverged, TrainingInterrupted
from summarizer.training.progress import EpochRecord, Progress
from summarizer.training.reporting import ProgressReporter
from summarizer.training.schedules import LearningRateSchedule, lr_factor, teacher_forcing_ratio
from summarizer.training.trainer import Trainer

__all__ = [
    "CheckpointError",
    "CheckpointStore",
    "DeviceError",
    "EarlyStopper",
    "EpochRecord",
    "LearningRateSchedule",
    "Progress",
    "ProgressReporter",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "TrainingParts",
    "build_parts",
    "build_trainer",
    "load_checkpoint",
    "lr_factor",
    "model_config",
    "select_device",
    "select_precision",
    "teacher_forcing_ratio",
]
