"""Where a registered version's data can be fetched from on another machine: the DVC remote
that ``dvc push`` sends the pipeline's outputs to. With the git commit and the data hash (tags
the training run already has), a version is traced back by ``git checkout <commit> && dvc pull``.
"""

from __future__ import annotations

import logging

from summarizer.redaction import mask_uri, redact

log = logging.getLogger(__name__)

REMOTE_TAG = "dvc_remote"
# The read-only store the raw datasets are read from (.dvc/config), never where outputs go.
DATASETS_REMOTE = "datasets"


def default_remote_url() -> str | None:
    """The URL of the default DVC remote of the repository around the working directory (a
    local path made absolute), credentials masked (tags are readable by everyone); None when
    there is none, or when it is the datasets store."""
    from dvc.config import Config
    from dvc.config import ConfigError as DvcConfigError

    try:
        # .dvc/config.local included, as `dvc push` reads it; relative paths come back absolute.
        config = Config.from_cwd(validate=False)
    except DvcConfigError as exc:
        # DVC's message may quote a line of the configuration, a remote's URL with it.
        log.warning("DVC configuration unreadable, no remote recorded: %s", redact(str(exc)))
        return None
    name = config.get("core", {}).get("remote")
    if not name or name == DATASETS_REMOTE:
        return None
    url = config.get("remote", {}).get(name, {}).get("url")
    return mask_uri(str(url)) if url else None


def remote_tags() -> dict[str, str]:
    """``{"dvc_remote": url}`` when a default remote is configured, else nothing."""
    url = default_remote_url()
    return {REMOTE_TAG: url} if url else {}
