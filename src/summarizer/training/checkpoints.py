"""The checkpoint store: the one definition of ``last.pt`` (resume) and ``best.pt`` (the weights
of the best validation loss), written atomically and loaded without running pickled code."""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from summarizer.errors import SummarizerError
from summarizer.io import atomic_path, discard_staged

log = logging.getLogger(__name__)

FORMAT = 3  # the layout below and the batch order; checkpoints of any other are not resumed


class CheckpointError(SummarizerError):
    """A checkpoint cannot be read, or holds objects that loading it would have to execute."""


class CheckpointStore:
    """The checkpoints of training runs in ``directory``: ``last.pt`` and ``best.pt`` of the run
    that owns them, and ``pending.pt``, the resume state of a newer run that has no best yet.

    What the trainer saves is opaque here: a dict of tensors and plain containers. The store adds
    the configuration's ``fingerprint``, whether the run had ``finished``, and ``metadata`` the
    caller owns (the MLflow run id, so a resumed training reports to the same run). It promises:

    - a file is never half-written (saved beside, then renamed over); a write that fails (disk
      full) is a :class:`~summarizer.io.WriteError` and replaces nothing;
    - a file is loaded with ``weights_only=True``: nothing in it is executed;
    - a new run leaves the previous run's files alone until it has a best of its own: while
      ``best.pt`` is another run's, the new run saves its state as ``pending.pt``; its first best
      replaces ``best.pt`` (the old ``last.pt`` is deleted once the new ``best.pt`` is written,
      just before it is renamed in), and from then on ``last.pt`` is its own and ``pending.pt``
      goes. A run that diverges, fills the disk or is killed before its first best leaves
      ``last.pt`` and ``best.pt`` as they were;
    - :meth:`resumable` returns a state only for an unfinished run of this very fingerprint
      (``last.pt`` first, then ``pending.pt``), and sets a damaged or refused file aside (with a
      warning) instead of failing, so a bad file never leaves training stuck.
    """

    def __init__(
        self, directory: Path, fingerprint: str = "", metadata: Mapping[str, Any] | None = None
    ) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.metadata: dict[str, Any] = dict(metadata or {})  # saved into every checkpoint
        # Whether this run writes last.pt (None: decided at the first resume or write); a run
        # that started as pending.pt deletes it once it owns last.pt.
        self._owns: bool | None = None
        self._was_pending = False
        self._fresh = False  # start_fresh: resume nothing

    @property
    def last(self) -> Path:
        """The latest state of the run that owns the directory, saved every few steps and at
        every epoch end."""
        return self.directory / "last.pt"

    @property
    def best(self) -> Path:
        """The state at the epoch with the best validation loss of that run."""
        return self.directory / "best.pt"

    @property
    def pending(self) -> Path:
        """The latest state of a new run that has no best yet, beside another run's files."""
        return self.directory / "pending.pt"

    @property
    def current(self) -> Path:
        """Where this run's latest state is saved: ``last.pt``, or ``pending.pt`` while another
        run's ``best.pt`` is kept."""
        return self.last if self._owner() else self.pending

    def _owner(self) -> bool:
        if self._owns is None:
            self._owns = not self.best.is_file()  # no best to keep: the directory is free
            self._was_pending = not self._owns
        return self._owns

    # ---------------------------------------------------------------------------------- write
    def discard_partial_writes(self) -> None:
        """Delete the half-written files a process killed while saving left (the one process
        that writes here calls it before it trains)."""
        for path in (self.last, self.best, self.pending):
            discard_staged(path)

    def start_fresh(self) -> None:
        """Begin a new run: nothing is resumed, and an earlier unfinished run's ``pending.pt``
        is deleted (a ``last.pt`` with no ``best.pt`` beside it keeps nothing worth keeping)."""
        self._fresh = True
        self._owns = None
        self.pending.unlink(missing_ok=True)
        if not self.best.is_file():
            self.last.unlink(missing_ok=True)
        elif not self._owner():
            log.info(
                "%s and %s stay as they are until this run has a best epoch; until then it "
                "saves to %s",
                self.last,
                self.best.name,
                self.pending,
            )

    def save_last(self, state: Mapping[str, Any], *, finished: bool) -> None:
        """Save ``state`` as this run's latest (:attr:`current`); ``finished`` marks a run that
        must not be resumed."""
        self._write(self.current, state, finished)
        if self._owner() and self._was_pending:
            self.pending.unlink(missing_ok=True)  # superseded by last.pt
            self._was_pending = False

    def save_best(self, state: Mapping[str, Any], *, finished: bool) -> None:
        """Save ``state`` as ``best.pt``; a run's first best takes the directory over."""
        if self._owner():
            self._write(self.best, state, finished)
            return

        def take_over() -> None:
            # The previous run's last.pt must not be resumed beside this run's best.pt.
            self.last.unlink(missing_ok=True)
            self._owns = True

        self._write(self.best, state, finished, before_replacing=take_over)

    def clear(self) -> None:
        """Delete every checkpoint in the directory."""
        for path in (self.last, self.best, self.pending):
            path.unlink(missing_ok=True)

    def _write(
        self,
        path: Path,
        state: Mapping[str, Any],
        finished: bool,
        before_replacing: Callable[[], None] | None = None,
    ) -> None:
        payload = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "finished": finished,
            "metadata": dict(self.metadata),
            "state": dict(state),
        }
        with atomic_path(path) as tmp:
            # Through a Python file, so a failed write keeps its errno (disk full, file too
            # large); torch's own writer reports only "iostream error".
            with open(tmp, "wb") as handle:
                torch.save(payload, handle)
            if before_replacing is not None:
                before_replacing()

    # ----------------------------------------------------------------------------------- read
    def load_best(self, map_location: str | torch.device = "cpu") -> dict[str, Any]:
        """The state saved in ``best.pt``; a :class:`CheckpointError` if it is missing, damaged,
        refused, or of another training configuration."""
        if not self.best.is_file():
            raise CheckpointError(f"{self.best}: not found; training saved no best checkpoint")
        payload = load_checkpoint(self.best, map_location)
        if payload.get("fingerprint") != self.fingerprint:
            raise CheckpointError(
                f"{self.best}: is the best checkpoint of other params or data, not of this run"
            )
        return payload["state"]

    def resumable(self, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
        """The state in ``last.pt`` (else ``pending.pt``) if it is an unfinished run of this
        fingerprint, else None; the run then goes on saving where that state was
        (:attr:`current`)."""
        payload = self._resumable_payload(map_location)
        return payload["state"] if payload is not None else None

    def resumable_metadata(self) -> dict[str, Any] | None:
        """The caller's metadata of the checkpoint :meth:`resumable` would return, else None."""
        payload = self._resumable_payload("cpu")
        return payload["metadata"] if payload is not None else None

    def _resumable_payload(self, map_location: str | torch.device) -> dict[str, Any] | None:
        if self._fresh:
            return None
        skipped = []
        for path in (self.last, self.pending):
            payload, why = self._unfinished_run_of_this_fingerprint(path, map_location)
            if payload is not None:
                self._owns = path == self.last
                self._was_pending = not self._owns
                return payload
            if why is not None:
                skipped.append(why)
        for why in skipped:
            log.info("%s: starting afresh", why)
        return None

    def _unfinished_run_of_this_fingerprint(
        self, path: Path, map_location: str | torch.device
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The payload of ``path`` if it resumes this run, else None and why not (None when
        there is no such file)."""
        if not path.is_file():
            return None, None
        try:
            payload = load_checkpoint(path, map_location)
        except CheckpointError as exc:
            aside = path.with_name(path.name + ".unusable")
            os.replace(path, aside)
            log.warning("%s; moved it to %s and starting afresh", exc, aside)
            return None, None
        if payload.get("format") != FORMAT or payload.get("fingerprint") != self.fingerprint:
            return None, f"checkpoint {path} is from other params or data"
        if payload["finished"]:
            return None, f"checkpoint {path} is of a finished run"
        return payload, None


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
