"""Where the project is, and where the data it reads from outside lives.

DVC runs a queued or ``--temp`` experiment in a copy of the project under
``.dvc/tmp/exps/<tmp>/``: paths relative to the working directory then point into that copy,
which is deleted afterwards. Two things must survive that:

- what belongs to the project (the MLflow store): :func:`project_root` is the project DVC was
  started from, which DVC passes to every stage as ``$DVC_ROOT``, also in a temporary copy;
- the datasets outside the repository: ``remote://<name>/<path>`` names a path under the DVC remote
  ``<name>`` (``datasets`` is defined in ``.dvc/config``). DVC checks such a dependency itself, and
  copies the project's ``.dvc/config.local`` (absolute paths) into every temporary copy, which is
  how a run there still finds ``../shared/datasets``: ``scripts/setup.sh`` writes it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from summarizer.errors import ConfigError
from summarizer.redaction import mask_uri, redact

ROOT_ENV = "DVC_ROOT"  # set by DVC for every stage command (dvc.env.DVC_ROOT)

# pathlib collapses the double slash ("remote:/datasets/x"), so a value that went through Path
# must still be recognised.
_REMOTE_PATH = re.compile(r"^remote:/{1,2}(?P<remote>[^/]+)/*(?P<rest>.*)$")


def project_root() -> Path:
    """The project DVC was started from (``$DVC_ROOT``), else the nearest directory up from here
    holding ``dvc.yaml``, else the working directory."""
    from_dvc = os.environ.get(ROOT_ENV)
    if from_dvc and Path(from_dvc).is_dir():
        return Path(from_dvc).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dvc.yaml").is_file():
            return candidate
    return here


def remote_url(name: str) -> Path:
    """The local directory of DVC remote ``name`` in the repository around the working directory
    (its ``.dvc/config.local`` first, then ``.dvc/config``, as DVC reads them)."""
    from dvc.config import Config
    from dvc.config import ConfigError as DvcConfigError

    try:
        config = Config.from_cwd(validate=False)
    except DvcConfigError as exc:
        raise ConfigError(f"DVC configuration cannot be read: {redact(str(exc))}") from None
    remote = config.get("remote", {}).get(name)
    setup = (
        f"`dvc remote add --local {name} /path/to/datasets` (scripts/setup.sh adds "
        f"'{name}' as ../shared/datasets)"
    )
    if config.dvc_dir is None:
        raise ConfigError(f"remote://{name}: not inside a DVC repository (no .dvc directory)")
    if not remote or "url" not in remote:
        raise ConfigError(
            f"remote://{name}: no DVC remote '{name}' in .dvc/config or .dvc/config.local; "
            f"add one with {setup}"
        )
    url = str(remote["url"])
    if re.match(r"^\w+://", url):
        raise ConfigError(
            f"remote://{name}: DVC remote '{name}' is {mask_uri(url)}; only a local directory "
            "can be read as a dataset"
        )
    return Path(url)


def resolve_data_path(path: str | os.PathLike[str]) -> Path:
    """The directory or file a params path names: ``remote://<remote>/<path>`` under that DVC
    remote's directory, any other path as it is (relative to the working directory)."""
    match = _REMOTE_PATH.match(str(path))
    if match is None:
        return Path(path)
    base = remote_url(match["remote"])
    return base / match["rest"] if match["rest"] else base
