"""What every params section shares: strict, frozen models and messages that name the key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

# A location kept as written: a directory, or remote://<remote>/<dir> (summarizer.project), which
# pathlib would turn into "remote:/...". Code may pass a Path; YAML gives a string.
Location = Annotated[
    str, BeforeValidator(lambda v: os.fspath(v) if isinstance(v, os.PathLike) else v)
]


class Section(BaseModel):
    """Base of every params section: unknown keys are errors and values are immutable once read."""

    # strict: "yes" is not a boolean and "3" is not a number; a YAML typo must not change a run.
    # allow_inf_nan=False: YAML's .inf and .nan (JSON's Infinity and NaN in a served request's
    # params) are refused as "not a finite number" for every float of every section, whatever
    # its bounds: `lr: .inf` passes `gt=0` and trains a whole epoch of NaN loss.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def format_validation_error(error: ValidationError, source: Path | str) -> str:
    """One line per bad key, named by its dotted path, for people rather than pydantic."""
    lines = [f"{source}: invalid parameters"]
    for issue in error.errors():
        key = ".".join(str(part) for part in issue["loc"])
        message = "unknown key" if issue["type"] == "extra_forbidden" else issue["msg"]
        message = message.removeprefix("Value error, ")
        lines.append(f"  {key}: {message}" if key else f"  {message}")
    return "\n".join(lines)
