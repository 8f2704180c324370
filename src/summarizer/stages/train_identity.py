"""What identifies a training: the fingerprint a checkpoint is resumed by, and the run name that
says in the MLflow runs table what a run is."""

from __future__ import annotations

import hashlib
import json

from summarizer.config.training import TrainingStageParams, TrainParams
from summarizer.training.device import precision_name, select_device, select_precision


def fingerprint(params: TrainingStageParams, data_hash: str) -> str:
    """Identity of a training configuration: a checkpoint is resumed only if this matches."""
    relevant = ("model", "train", "vocab", "tokenize", "dataset")
    settings = {k: v for k, v in params.to_flat_dict().items() if k.split(".")[0] in relevant}
    if settings["train.nproc"] == 1:
        # One process trains as before the option existed: its checkpoints and run names stay.
        del settings["train.nproc"]
    # `auto` is bf16 on one CPU and fp32 on another: the identity is the precision that trains,
    # so a checkpoint never resumes in another precision and equal run names mean equal runs.
    settings["train.precision"] = resolved_precision(params.train)
    payload = json.dumps(settings, sort_keys=True)
    return hashlib.sha256((payload + data_hash).encode()).hexdigest()


def resolved_precision(train: TrainParams) -> str:
    """The precision ``train.precision`` means on this machine (``auto`` resolved)."""
    return precision_name(select_precision(train.precision, select_device(train.device)))


def run_name(params: TrainingStageParams, configuration: str) -> str:
    """What a run is, readable in the MLflow runs table: dataset, model size, copy and coverage,
    and the start of the configuration's :func:`fingerprint` (equal names, equal training), e.g.
    ``gigaword-e128h256-copy-cov-3f2a1bc``."""
    model = params.model
    parts = [params.dataset.name]
    if model.rnn_type != "lstm":
        parts.append(model.rnn_type)
    layers = "" if model.enc_layers == model.dec_layers == 1 else f"l{model.enc_layers}"
    if model.dec_layers != model.enc_layers:
        layers += f"x{model.dec_layers}"
    parts.append(f"e{model.emb_dim}h{model.hidden_dim}{layers}")
    parts.append("copy" if model.copy else "nocopy")
    if model.coverage:
        parts.append("cov")
    parts.append(configuration[:7])
    return "-".join(parts)
