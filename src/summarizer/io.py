"""Writes that never leave a half-written file where a later stage would read it, and never delete
what they were not asked to replace; and the one way a stage reads another stage's table."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.errors import DataError, SummarizerError, first_line

if TYPE_CHECKING:
    import pandas as pd


class WriteError(SummarizerError):
    """An output could not be written (disk full, file size limit, read-only disk); what it
    would have replaced is as it was. ``kept`` says so in the caller's words when more than the
    one file was left alone (a stage that replaces its outputs together)."""

    def __init__(self, path: Path, reason: str, kept: str | None = None) -> None:
        super().__init__(path, reason, kept)
        self.path = Path(path)
        self.reason = reason
        self.kept = kept

    def __str__(self) -> str:
        kept = f": {self.kept}" if self.kept else ""
        return f"{self.path}: cannot be written ({self.reason}); nothing was replaced{kept}"


# What running out of room, or a disk that refuses writes, looks like; other OSErrors inside a
# write block (a missing input, a permission on something read) are not about the output.
_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}
# PyTorch's C++ writer reports a failed write in its own words and drops the errno when it
# writes to a path (to a Python file object, the OSError is the exception's context).
_TORCH_WRITE_FAILED = ("PytorchStreamWriter", "inline_container", "iostream error")


def _write_failure(exc: BaseException) -> str | None:
    """Why a write failed, if ``exc`` (or an exception it was raised from) says the output could
    not be written; None for any other error, which then propagates unchanged."""
    if isinstance(exc, SummarizerError):
        return None  # already says what went wrong (an MLflow store that is full, say)
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL:
            limit = _file_size_limit() if seen.errno == errno.EFBIG else None
            limited = f"; the file size limit (ulimit -f) is {limit} bytes" if limit else ""
            return os.strerror(seen.errno) + limited
        suppressed = seen.__suppress_context__ and seen.__cause__ is None
        seen = seen.__cause__ if seen.__cause__ is not None or suppressed else seen.__context__
    if isinstance(exc, RuntimeError) and any(m in str(exc) for m in _TORCH_WRITE_FAILED):
        # The errno is lost: say what the two usual causes look like here.
        limit = _file_size_limit()
        cause = f"the file size limit (ulimit -f) is {limit} bytes" if limit else "disk full?"
        return f"PyTorch could not write it: {first_line(exc)}; {cause}"
    return None


def _file_size_limit() -> int | None:
    """The limit on the size of a file this process writes (``ulimit -f``), None if unlimited."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if limit == resource.RLIM_INFINITY else limit


@contextmanager
def _staged(target: Path) -> Iterator[tuple[Path, Path]]:
    # The temporary path sits in the target's directory so the final os.replace is atomic on one
    # filesystem; it is removed whatever happens in the block. A write that fails for want of
    # room becomes a WriteError naming the target, however deep in the block it failed: an
    # error from a nested atomic write into this temporary path is renamed to the final one.
    tmp_dir: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        yield tmp_dir, tmp_dir / target.name
    except WriteError as exc:
        if tmp_dir is not None and exc.path.is_relative_to(tmp_dir / target.name):
            exc.path = target / exc.path.relative_to(tmp_dir / target.name)
        raise
    except Exception as exc:
        reason = _write_failure(exc)
        if reason is None:
            raise
        raise WriteError(target, reason) from exc
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def discard_staged(target: Path | str) -> None:
    """Delete what atomic writes of ``target`` left behind when their process was killed
    outright (``kill -9``: no ``finally`` ran), so they do not pile up beside it. Only for a
    target no other process is writing at the same time."""
    target = Path(target)
    for leftover in target.parent.glob(f".{target.name}.*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary file path beside ``target``; it replaces ``target`` only if the block
    succeeds.

    A target that is a directory is refused, never deleted: a user who names a folder for an
    output file has not asked to lose the folder.
    """
    target = Path(target)
    if target.is_dir():
        raise DataError(f"{target}: is a directory; give the path of a file to write")
    with _staged(target) as (_, tmp):
        yield tmp
        if tmp.exists():
            os.replace(tmp, target)


@contextmanager
def atomic_directory(target: Path | str) -> Iterator[Path]:
    """Yield a temporary directory path beside ``target``; when the block succeeds it replaces
    ``target``, a directory that a stage owns as a whole (``data/interim``, a model directory).

    The old directory is moved aside first and deleted only once the new one is in place, so a
    failure leaves the previous outputs as they were. A target that is a file is refused.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise DataError(f"{target}: exists and is not a directory; move it away first")
    with _staged(target) as (tmp_dir, tmp):
        yield tmp
        if not tmp.exists():
            return
        if target.is_dir() and not target.is_symlink():
            os.replace(target, tmp_dir / ".previous")
        os.replace(tmp, target)


def write_json(path: Path | str, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read_json(path: Path | str) -> Any:
    """Parse a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_stage_table(
    path: Path | str, produced_by: str, columns: list[str] | None = None
) -> pd.DataFrame:
    """A Parquet table an earlier stage wrote, or a :class:`DataError` naming the stage to run.

    The one way stages read each other's tables, so a missing or damaged input always says what
    to do about it instead of surfacing as a pyarrow traceback.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: not found; run the {produced_by} stage first")
    try:
        return pd.read_parquet(path, columns=columns)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(
            f"{path}: cannot read the {produced_by} stage's table ({first_line(exc)}); "
            f"run the {produced_by} stage again"
        ) from None


def hash_files(paths: Iterable[Path | str]) -> str:
    """One digest over file names and contents (directories walked in sorted order): the identity
    of a stage's inputs, to tell whether a record of them still describes what is on disk."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file).encode())
            with open(file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()
