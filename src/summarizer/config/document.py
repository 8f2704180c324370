"""``params.yaml`` as a document: reading it, and flattening it into MLflow's parameter list.

Every stage reads the file through :func:`read_params` into the view it needs (the whole
:class:`~summarizer.config.params.Params`, or a stage's own sections), so a stage's code does not
depend on the sections of the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from summarizer.config.base import format_validation_error
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


class ParamsDocument(BaseModel):
    """Base of every view of ``params.yaml``: its sections as MLflow's flat parameter list."""

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


View = TypeVar("View", bound=ParamsDocument)


def load_sections(text: str, source: Path | str) -> dict[str, Any]:
    """The top-level sections of a params file's ``text`` (read from ``source``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level")
    return data


def read_params(path: Path | str, view: type[View]) -> View:
    """Read ``path`` and validate it as ``view``; any problem is a :class:`ConfigError` naming
    the key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: parameter file not found") from None
    try:
        return view.model_validate(load_sections(text, path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None
