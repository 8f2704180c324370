"""The checkpoint store: the one definition of ``last.pt`` (resume) and ``best.pt`` (the weights
of the best validation loss), written atomically and loaded without running pickled code."""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from summarizer.errors import SummarizerError
from summarizer.io import atomic_path

log = logging.getLogger(__name__)

FORMAT = 3  # the layout below and the batch order; checkpoints of any other are not resumed


class CheckpointError(SummarizerError):
    """A checkpoint cannot be read, or holds objects that loading it would have to execute."""


class CheckpointStore:
    """The checkpoints of one training configuration, in ``directory``.

    What the trainer saves is opaque here: a dict of tensors and plain containers. The store adds
    the configuration's ``fingerprint``, whether the run had ``finished``, and ``metadata`` the
    caller owns (the MLflow run id, so a resumed training reports to the same run). It promises:

    - a file is never half-written (saved beside, then renamed over);
    - a file is loaded with ``weights_only=True``: nothing in it is executed;
    - :meth:`resumable` returns a state only for an unfinished run of this very fingerprint, and
      sets a damaged or refused ``last.pt`` aside (with a warning) instead of failing, so a bad
      file never leaves training stuck.
    """

    def __init__(
        self, directory: Path, fingerprint: str = "", metadata: Mapping[str, Any] | None = None
    ) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.metadata: dict[str, Any] = dict(metadata or {})  # saved into every checkpoint

    @property
    def last(self) -> Path:
        """The latest state of the run, saved every few steps and at every epoch end."""
        return self.directory / "last.pt"

    @property
    def best(self) -> Path:
        """The state at the epoch with the best validation loss so far."""
        return self.directory / "best.pt"

    # ---------------------------------------------------------------------------------- write
    def save_last(self, state: Mapping[str, Any], *, finished: bool) -> None:
        """Save ``state`` as ``last.pt``; ``finished`` marks a run that must not be resumed."""
        self._write(self.last, state, finished)

    def save_best(self, state: Mapping[str, Any], *, finished: bool) -> None:
        """Save ``state`` as ``best.pt``."""
        self._write(self.best, state, finished)

    def clear(self) -> None:
        """Delete both checkpoints, so a fresh run cannot resume a stale one."""
        for path in (self.last, self.best):
            path.unlink(missing_ok=True)

    def _write(self, path: Path, state: Mapping[str, Any], finished: bool) -> None:
        payload = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "finished": finished,
            "metadata": dict(self.metadata),
            "state": dict(state),
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    # ----------------------------------------------------------------------------------- read
    def load_best(self, map_location: str | torch.device = "cpu") -> dict[str, Any]:
        """The state saved in ``best.pt``; a :class:`CheckpointError` if it is missing, damaged
        or refused."""
        if not self.best.is_file():
            raise CheckpointError(f"{self.best}: not found; training saved no best checkpoint")
        return load_checkpoint(self.best, map_location)["state"]

    def resumable(self, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
        """The state in ``last.pt`` if it is an unfinished run of this fingerprint, else None."""
        payload = self._resumable_payload(map_location)
        return payload["state"] if payload is not None else None

    def resumable_metadata(self) -> dict[str, Any] | None:
        """The caller's metadata of the checkpoint :meth:`resumable` would return, else None."""
        payload = self._resumable_payload("cpu")
        return payload["metadata"] if payload is not None else None

    def _resumable_payload(self, map_location: str | torch.device) -> dict[str, Any] | None:
        if not self.last.is_file():
            return None
        try:
            payload = load_checkpoint(self.last, map_location)
        except CheckpointError as exc:
            aside = self.last.with_name(self.last.name + ".unusable")
            os.replace(self.last, aside)
            log.warning("%s; moved it to %s and starting afresh", exc, aside)
            return None
        if payload.get("format") != FORMAT or payload.get("fingerprint") != self.fingerprint:
            log.info("checkpoint %s is from other params or data: starting afresh", self.last)
            return None
        if payload["finished"]:
            log.info("checkpoint %s is of a finished run: starting afresh", self.last)
            return None
        return payload


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A checkpoint file as saved by :class:`CheckpointStore`, loaded with
    ``weights_only=True``; a :class:`CheckpointError` naming the file if it cannot be read or
    holds anything but tensors and plain containers (which is then not executed)."""
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a damaged file
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        # weights_only names the global it would have had to call, and refuses before calling it.
        refused = next((line for line in lines if "GLOBAL" in line), None)
        if refused is not None:
            raise CheckpointError(
                f"{path}: refused to load: it holds Python objects besides tensors and plain "
                f"containers, which loading would execute; nothing in it was run ({refused})"
            ) from None
        # An unpickling error's first line is torch's advice to load unsafely: not worth showing.
        unpickling = isinstance(exc, pickle.UnpicklingError)
        first = lines[0] if lines and not unpickling else type(exc).__name__
        raise CheckpointError(f"{path}: cannot be read, damaged or truncated ({first})") from None
    if not isinstance(payload, dict) or "state" not in payload:
        raise CheckpointError(f"{path}: not a checkpoint of this project")
    return payload
