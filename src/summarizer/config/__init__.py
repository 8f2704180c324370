"""Typed view of ``params.yaml`` and every path the pipeline reads or writes.

One module per group of sections; everything is importable from here. Each DVC stage reads its
own section through :func:`load_params`. Models forbid unknown keys and coerce nothing, so a typo
in ``params.yaml`` stops the stage with a message naming the key instead of being silently
ignored and leaving the run unreproducible.
"""

from summarizer.config.base import Section, format_validation_error
from summarizer.config.data import (
    DatasetSpec,
    Fields,
    IngestParams,
    LengthBounds,
    SplitFiles,
    TokenizeParams,
    ValidateParams,
    VocabParams,
)
from summarizer.config.evaluation import (
    DecodeParams,
    EvaluateParams,
    ExtraTestSet,
    LengthPenalty,
    ScoreConvention,
    ScoringParams,
)
from summarizer.config.params import PARAMS_FILE, Params, load_params
from summarizer.config.paths import SPLITS, Paths
from summarizer.config.registry import RegisterParams
from summarizer.config.serving import ServeParams
from summarizer.config.training import ModelParams, TrackingParams, TrainParams

__all__ = [
    "PARAMS_FILE",
    "SPLITS",
    "DatasetSpec",
    "DecodeParams",
    "EvaluateParams",
    "ExtraTestSet",
    "Fields",
    "IngestParams",
    "LengthBounds",
    "LengthPenalty",
    "ModelParams",
    "Params",
    "Paths",
    "RegisterParams",
    "ScoreConvention",
    "ScoringParams",
    "Section",
    "ServeParams",
    "SplitFiles",
    "TokenizeParams",
    "TrackingParams",
    "TrainParams",
    "ValidateParams",
    "VocabParams",
    "format_validation_error",
    "load_params",
]
