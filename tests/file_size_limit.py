"""Running a command as if the disk were full: a limit on the size of the files it writes
(``ulimit -f``), with SIGXFSZ ignored so that a write past the limit fails with EFBIG ("File too
large") instead of killing the process. No root and no special filesystem needed; the limit
holds for that process alone, and for every file it writes, the MLflow store included."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def limit_file_size(limit: int):
    """A ``preexec_fn`` that caps the size of every file the child writes at ``limit`` bytes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_limited(
    args: Sequence[str],
    limit: int,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in ``cwd`` with files capped at ``limit`` bytes."""
    return subprocess.run(
        list(args),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_file_size(limit),
    )


def python_limited(code: str, limit: int, cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run Python ``code`` in a fresh interpreter with files capped at ``limit`` bytes."""
    return run_limited([sys.executable, "-c", textwrap.dedent(code)], limit, cwd, **kwargs)
