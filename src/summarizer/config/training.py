"""The model and training sections: ``model``, ``train`` and ``tracking``."""

from __future__ import annotations

import warnings
from typing import Literal

from pydantic import Field

from summarizer.config.base import Section

# `copy` is the name users know (OpenNMT's copy_attn, See et al.'s pointer); it hides pydantic's
# deprecated BaseModel.copy(), which nothing here calls, so pydantic's warning about it is noise.
warnings.filterwarnings("ignore", message='Field name "copy" in "ModelParams" shadows')


class ModelParams(Section):
    """Architecture; see :class:`summarizer.model.Seq2SeqConfig` for what each knob does."""

    rnn_type: Literal["lstm", "gru"] = "lstm"
    emb_dim: int = Field(256, gt=0)
    hidden_dim: int = Field(512, gt=0)
    enc_layers: int = Field(2, ge=1)
    dec_layers: int = Field(2, ge=1)
    bidirectional: bool = True
    dropout: float = Field(0.3, ge=0, lt=1)
    attention: Literal["dot", "general", "concat", "bahdanau"] = "general"
    input_feeding: bool = False
    tie_embeddings: bool = False
    share_src_tgt_embeddings: bool = False
    # Pointer-generator (See et al. 2017): the decoder may copy a source word, also one outside
    # the vocabulary, by mixing the attention into the output distribution.
    copy: bool = False
    # Coverage: the sum of earlier attention feeds the attention score, so the decoder can see
    # what it already said; trained with train.coverage_weight from train.coverage_from_epoch.
    coverage: bool = False


class TrainParams(Section):
    """Optimisation, device, precision, batching and checkpointing of the ``train`` stage."""

    seed: int = 42
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # auto: bf16 autocast on CUDA GPUs that support it, fp16 + gradient scaler on older ones,
    # bf16 on CPUs that multiply bf16 in hardware (AVX-512 BF16, AMX), fp32 elsewhere.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    threads: int = Field(0, ge=0)  # 0: torch's default (one per physical core)
    # Training processes on this machine (one per GPU): above 1 the stage re-launches itself
    # under torchrun, each process taking its share of every step's batches.
    nproc: int = Field(1, ge=1)
    max_epochs: int = Field(10, ge=1)
    max_train_examples: int | None = Field(None, ge=1)  # a quick look at a subset
    batch_tokens: int = Field(4000, gt=0)  # padded source + target tokens per batch
    max_batch_size: int = Field(256, gt=0)
    grad_accum_steps: int = Field(1, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    clip_grad_norm: float = Field(1.0, gt=0)
    scheduler: Literal["warmup_decay", "plateau", "constant"] = "warmup_decay"
    warmup_steps: int = Field(200, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)  # cosine decay floor, as a share of lr
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    plateau_patience: int = Field(1, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    teacher_forcing: float = Field(1.0, ge=0, le=1)
    teacher_forcing_min: float = Field(1.0, ge=0, le=1)  # reached linearly at the last epoch
    early_stopping_patience: int = Field(3, ge=1)
    checkpoint_every_steps: int = Field(500, ge=0)  # 0: only at the end of an epoch
    coverage_weight: float = Field(1.0, ge=0)  # lambda of the coverage loss (model.coverage)
    # See et al. train coverage as a short last phase on a converged copy model: from scratch
    # it collapses into repeating one word. 1: from the start.
    coverage_from_epoch: int = Field(1, ge=1)


class TrackingParams(Section):
    """Which MLflow store and experiment the runs go to."""

    experiment: str = "summarizer"
    # null: $MLFLOW_TRACKING_URI if set, else an SQLite database in the repository root.
    uri: str | None = None
    log_system_metrics: bool = True
