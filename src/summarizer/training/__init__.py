"""Training: the loop (:class:`Trainer`) and the collaborators it is given (checkpoint store,
early stopper, progress reporter), the schedules, and the ``train`` stage (:func:`run_train`).

Nothing here imports MLflow at import time: the stage imports the tracking layer when it runs.
"""

from summarizer.training.checkpoints import CheckpointError, CheckpointStore, load_checkpoint
from summarizer.training.device import DeviceError, select_device, select_precision
from summarizer.training.early_stopping import EarlyStopper
from summarizer.training.interrupts import TrainingInterrupted
from summarizer.training.progress import EpochRecord, Progress
from summarizer.training.reporting import ProgressReporter
from summarizer.training.schedules import LearningRateSchedule, lr_factor, teacher_forcing_ratio
from summarizer.training.stage import model_config, run_train
from summarizer.training.trainer import Trainer, TrainingDiverged

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
    "load_checkpoint",
    "lr_factor",
    "model_config",
    "run_train",
    "select_device",
    "select_precision",
    "teacher_forcing_ratio",
]
