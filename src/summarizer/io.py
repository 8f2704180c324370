"""Writes that never leave a half-written file where a later stage would read it, and never delete
what they were not asked to replace; and the one way a stage reads another stage's table."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.errors import DataError, first_line

if TYPE_CHECKING:
    import pandas as pd


@contextmanager
def _staged(target: Path) -> Iterator[tuple[Path, Path]]:
    # The temporary path sits in the target's directory so the final os.replace is atomic on one
    # filesystem; it is removed whatever happens in the block.
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp_dir, tmp_dir / target.name
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


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
