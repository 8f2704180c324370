"""What the trainer is given, built from the params: the model's configuration, and the parts it
trains with (device, precision, model, optimizer), built in the one order that makes a run
reproducible."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from summarizer.config.training import ModelParams, TrainParams
from summarizer.model import Seq2Seq, Seq2SeqConfig
from summarizer.training import distributed
from summarizer.training.checkpoints import CheckpointStore
from summarizer.training.device import log_gpu_profile_hint, select_device, select_precision
from summarizer.training.early_stopping import EarlyStopper
from summarizer.training.reporting import ProgressReporter
from summarizer.training.rng import seed_everything
from summarizer.training.trainer import Trainer


def model_config(params: ModelParams, src_vocab_size: int, tgt_vocab_size: int) -> Seq2SeqConfig:
    """The model configuration of ``params`` for vocabularies of the given sizes (``copy`` and
    ``coverage`` included: the fields have the same names)."""
    return Seq2SeqConfig(
        src_vocab_size=src_vocab_size,
        tgt_vocab_size=tgt_vocab_size,
        **params.model_dump(),
    )


@dataclass(frozen=True)
class TrainingParts:
    """What a :class:`Trainer` trains with."""

    device: torch.device  # this rank's own under torchrun
    autocast_dtype: torch.dtype | None  # None: plain fp32
    model: Seq2Seq
    # What train steps run: the model, or the model inside DistributedDataParallel.
    network: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler  # enabled for fp16 only: its range underflows small gradients


def build_parts(params: TrainParams, config: Seq2SeqConfig) -> TrainingParts:
    """The device, precision, model, optimizer and loss scaler of a run of ``params`` with a model
    of ``config``; joins torchrun's process group when launched by it.

    Every generator is seeded with ``params.seed`` just before the model draws its weights, so two
    builds of the same params start from the same weights.
    """
    device = distributed.init(select_device(params.device))
    log_gpu_profile_hint(device, config, params)
    autocast_dtype = select_precision(params.precision, device)
    if params.threads:
        torch.set_num_threads(params.threads)
    # Rank 0 keeps the single process's seed; the others draw their own dropout masks.
    # Their initial weights do not matter: DistributedDataParallel copies rank 0's.
    seed_everything(params.seed + distributed.rank())
    model = Seq2Seq(config).to(device)
    # DistributedDataParallel must be told of the coverage parameters that sit out the steps
    # before their phase.
    sits_out = config.coverage and params.coverage_from_epoch > 1
    network = distributed.wrap(model, find_unused_parameters=sits_out)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=params.lr,
        weight_decay=params.weight_decay,
        # One fused kernel instead of a dozen elementwise passes over every parameter.
        fused=device.type in ("cuda", "cpu"),
    )
    scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype is torch.float16)
    return TrainingParts(device, autocast_dtype, model, network, optimizer, scaler)


def build_trainer(
    params: TrainParams,
    config: Seq2SeqConfig,
    checkpoints: CheckpointStore | None = None,
    early_stopper: EarlyStopper | None = None,
    reporter: ProgressReporter | None = None,
) -> Trainer:
    """A :class:`Trainer` of ``params`` for a model of ``config``, with the parts
    :func:`build_parts` builds and the collaborators given (see :class:`Trainer` for what None
    means for each)."""
    return Trainer(params, build_parts(params, config), checkpoints, early_stopper, reporter)
