"""The whole of ``params.yaml``, read and validated once."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from summarizer.config.base import format_validation_error
from summarizer.config.data import (
    DatasetSpec,
    IngestParams,
    TokenizeParams,
    ValidateParams,
    VocabParams,
)
from summarizer.config.evaluation import EvaluateParams
from summarizer.config.registry import RegisterParams
from summarizer.config.serving import ServeParams
from summarizer.config.training import ModelParams, TrackingParams, TrainParams
from summarizer.errors import ConfigError

PARAMS_FILE = Path("params.yaml")

# Params an MLflow run does not record: where files are (the run's data hash and git commit
# say what they held), how the store and the server are set up, and settings that change the
# speed of a stage but not its result. Left in, they take the first columns of the MLflow
# compare view and its parallel-coordinates plot, which open on the params that differ.
UNTRACKED_PARAMS = (
    "dataset.path",
    "dataset.splits",
    "evaluate.extra_test_sets",
    "register",
    "serve",
    "tracking",
    "tokenize.batch_size",
    "tokenize.n_process",
    "train.threads",
    "train.checkpoint_every_steps",
)


class Params(BaseModel):
    """The whole of ``params.yaml``. Later stages add their sections here."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    dataset: DatasetSpec
    ingest: IngestParams = IngestParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    tokenize: TokenizeParams = TokenizeParams()
    vocab: VocabParams = VocabParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    tracking: TrackingParams = TrackingParams()
    evaluate: EvaluateParams = EvaluateParams()
    register_: RegisterParams = Field(RegisterParams(), alias="register")
    serve: ServeParams = ServeParams()

    @model_validator(mode="after")
    def _one_unknown_token(self) -> Params:
        if self.tokenize.unknown_token != self.vocab.unk_token:
            raise ValueError(
                f"tokenize.unknown_token ({self.tokenize.unknown_token!r}) must equal "
                f"vocab.unk_token ({self.vocab.unk_token!r})"
            )
        return self

    def to_flat_dict(self) -> dict[str, object]:
        """``section.key`` -> value, for MLflow's flat parameter list."""
        flat: dict[str, object] = {}

        def walk(prefix: str, value: object) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), item)
            else:
                flat[prefix] = value

        walk("", self.model_dump(mode="json", by_alias=True))
        return flat

    def to_tracked_dict(self, *sections: str) -> dict[str, object]:
        """:meth:`to_flat_dict` without :data:`UNTRACKED_PARAMS`: the knobs a run is compared by
        (of ``sections`` only, when given)."""
        return {
            key: value
            for key, value in self.to_flat_dict().items()
            if not any(key == p or key.startswith(p + ".") for p in UNTRACKED_PARAMS)
            and (not sections or key.split(".", 1)[0] in sections)
        }


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate ``params.yaml``; any problem is a :class:`ConfigError` naming the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: parameter file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None
