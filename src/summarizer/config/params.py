"""The whole of ``params.yaml``, read and validated at once: what ``ingest`` reads (a typo in any
section stops the pipeline before it starts), and ``register`` and the commands outside the
pipeline. The other stages read views of their own sections
(:class:`~summarizer.config.data.DataStageParams`,
:class:`~summarizer.config.training.TrainingStageParams`,
:class:`~summarizer.config.evaluation.EvaluationStageParams`), so that a section's code is no
dependency of a stage that does not read it."""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field

from summarizer.config.document import PARAMS_FILE, UNTRACKED_PARAMS, read_params
from summarizer.config.evaluation import EvaluateParams
from summarizer.config.registry import RegisterParams
from summarizer.config.serving import ServeParams
from summarizer.config.training import TrainingStageParams

__all__ = ["PARAMS_FILE", "UNTRACKED_PARAMS", "Params", "load_params"]


class Params(TrainingStageParams):
    """The whole of ``params.yaml``: the train stage's sections and those of the stages after it.
    An unknown section is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    evaluate: EvaluateParams = EvaluateParams()
    register_: RegisterParams = Field(RegisterParams(), alias="register")
    serve: ServeParams = ServeParams()


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate the whole of ``params.yaml``."""
    return read_params(path, Params)
