"""The model and training sections: ``model`` and ``train``, and what the ``train`` stage reads."""

from __future__ import annotations

import warnings
from typing import Literal

from pydantic import Field, model_validator

from summarizer.config.base import Section
from summarizer.config.choices import (
    ATTENTION_FEATURES,
    ATTENTION_TYPES,
    NO_ATTENTION,
    RNN_TYPES,
    attention_needed_message,
)
from summarizer.config.data import DataStageParams
from summarizer.config.tracking import TrackingParams

# The model's own lists of its kinds, so that a kind the model gains is a value params.yaml
# accepts, and one it drops is refused here, by name, before a stage starts.
RnnType = Literal[RNN_TYPES]  # type: ignore[valid-type]
AttentionType = Literal[ATTENTION_TYPES]  # type: ignore[valid-type]

# `copy` is the name users know (OpenNMT's copy_attn, See et al.'s pointer); it hides pydantic's
# deprecated BaseModel.copy(), which nothing here calls, so pydantic's warning about it is noise.
warnings.filterwarnings("ignore", message='Field name "copy" in "ModelParams" shadows')


class ModelParams(Section):
    """Architecture; see :class:`summarizer.model.Seq2SeqConfig` for what each knob does.

    The defaults are ``params.yaml``'s (tests/unit/test_defaults.py) but for the four feature
    switches, off unless asked for: ``ModelParams()`` is the plain attention seq2seq every
    feature is measured against, and ``share_src_tgt_embeddings`` is only valid with one shared
    vocabulary, which this section cannot see. ``params.yaml`` turns them all on.
    """

    rnn_type: RnnType = "lstm"
    emb_dim: int = Field(128, gt=0)
    hidden_dim: int = Field(256, gt=0)
    enc_layers: int = Field(1, ge=1)
    dec_layers: int = Field(1, ge=1)
    bidirectional: bool = True
    dropout: float = Field(0.2, ge=0, lt=1)
    attention: AttentionType = "general"
    input_feeding: bool = False
    tie_embeddings: bool = False  # the output projection shares the target embedding
    share_src_tgt_embeddings: bool = False  # needs one shared vocabulary (vocab.shared)
    # Pointer-generator (See et al. 2017): the decoder may copy a source word, also one outside
    # the vocabulary, by mixing the attention into the output distribution.
    copy: bool = False
    # Coverage: the sum of earlier attention feeds the attention score, so the decoder can see
    # what it already said; trained with train.coverage_weight from train.coverage_from_epoch.
    coverage: bool = False

    @model_validator(mode="after")
    def _features_have_attention(self) -> ModelParams:
        if self.attention == NO_ATTENTION:
            needing = [name for name in ATTENTION_FEATURES if getattr(self, name)]
            if needing:
                raise ValueError(attention_needed_message(needing, prefix="model."))
        return self


class TrainParams(Section):
    """Optimisation, device, precision, batching and checkpointing of the ``train`` stage.

    The defaults are ``params.yaml``'s (tests/unit/test_defaults.py): sized so that the default
    Gigaword pool trains on a 2-core CPU in about ten minutes.
    """

    seed: int = 42
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # auto: bf16 autocast on CUDA GPUs that support it, fp16 + gradient scaler on older ones,
    # bf16 on CPUs that multiply bf16 in hardware (AVX-512 BF16, AMX), fp32 elsewhere.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    threads: int = Field(0, ge=0)  # 0: torch's default (one per physical core)
    # Training processes on this machine (one per GPU): above 1 the stage re-launches itself
    # under torchrun, each process taking its share of every step's batches.
    nproc: int = Field(1, ge=1)
    max_epochs: int = Field(6, ge=1)
    max_train_examples: int | None = Field(None, ge=1)  # a quick look at a subset
    batch_tokens: int = Field(4000, gt=0)  # padded source + target tokens per batch
    max_batch_size: int = Field(128, gt=0)
    grad_accum_steps: int = Field(1, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    clip_grad_norm: float = Field(1.0, gt=0)
    scheduler: Literal["warmup_decay", "plateau", "constant"] = "warmup_decay"
    warmup_steps: int = Field(100, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)  # cosine decay floor, as a share of lr
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    plateau_patience: int = Field(1, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    teacher_forcing: float = Field(1.0, ge=0, le=1)
    teacher_forcing_min: float = Field(1.0, ge=0, le=1)  # reached linearly at the last epoch
    early_stopping_patience: int = Field(2, ge=1)
    checkpoint_every_steps: int = Field(200, ge=0)  # 0: only at the end of an epoch
    coverage_weight: float = Field(1.0, ge=0)  # lambda of the coverage loss (model.coverage)
    # See et al. train coverage as a short last phase on a converged copy model: from scratch
    # it collapses into repeating one word. 1: from the start; the default: the last epoch.
    coverage_from_epoch: int = Field(6, ge=1)


class TrainingStageParams(DataStageParams):
    """The sections of ``params.yaml`` the ``train`` stage reads; the others are left to the
    stages that read them, so that their code and params are not the model's dependencies."""

    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    tracking: TrackingParams = TrackingParams()
