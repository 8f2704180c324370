"""Which process holds an MLflow run open, so that no run stays RUNNING after its process ended.

A stage marks the runs it opens with :func:`owner_tags`; one killed outright (kill -9, the
out-of-memory killer, a power cut) cannot close its run, so the next stage on the same machine
finds the run RUNNING with a process that is gone and marks it (:func:`close_abandoned_runs`).
SIGTERM, which can be caught, ends a run cleanly instead (:func:`exit_cleanly_on_sigterm`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from summarizer.errors import first_line
from summarizer.redaction import redact
from summarizer.tracking import client, timestamp

log = logging.getLogger(__name__)

HOST_TAG = "summarizer.host"
PROCESS_TAG = "summarizer.process"  # "<pid> <start time> <machine key>"
END_REASON_TAG = "summarizer.end_reason"


class Terminated(SystemExit):
    """SIGTERM arrived while a run was open: raised in the main thread so that the run is marked
    KILLED on the way out; the process then exits with 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"{signal.Signals(self.signum).name} received"


@contextmanager
def exit_cleanly_on_sigterm() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` instead of ending the process
    where it stands, so ``finally`` blocks and run bookkeeping happen. Left alone where a
    handler other than the default is set (the trainer's, which checkpoints first) and outside
    the main thread, where signals cannot be caught."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _machine_key() -> str:
    """What makes a process id mean one process: the host, its boot, and the pid namespace
    (containers on one kernel number their processes apart). Hashed: a tag, not an inventory."""
    parts = [socket.gethostname()]
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:  # not Linux: the boot time stands for the boot
        import psutil

        parts.append(str(int(psutil.boot_time())))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), None if there is no such
    process; with the pid it names one process, even after the pid is reused."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.Error:  # exists, but is not ours to inspect: alive
        return -1.0


def owner_tags() -> dict[str, str]:
    """The tags that say this process holds a run open (:data:`PROCESS_TAG`)."""
    pid = os.getpid()
    return {
        HOST_TAG: socket.gethostname(),
        PROCESS_TAG: f"{pid} {_started(pid):.2f} {_machine_key()}",
    }


def _owner_is_gone(process_tag: str) -> bool:
    """Whether the process a run's :data:`PROCESS_TAG` names ran on this machine and has ended;
    False for a process of another machine (it may be running there) or a tag not understood."""
    try:
        pid_text, started_text, machine = process_tag.split()
        pid, started = int(pid_text), float(started_text)
    except ValueError:
        return False
    if machine != _machine_key():
        return False
    now = _started(pid)
    if now is None:
        return True
    return now >= 0 and abs(now - started) > 0.5  # the pid was reused by another process


def close_abandoned_runs(uri: str, experiment: str) -> list[str]:
    """Mark KILLED, with an :data:`END_REASON_TAG` saying why, every run of ``experiment`` left
    RUNNING by a process of this machine that has ended without closing it; returns their ids.

    Runs of other machines are left alone: their processes cannot be seen from here (nor can
    those of this machine before it rebooted: the pid namespace is another then). A store that
    cannot be searched, or a run this account may not change, is only a warning: this is
    housekeeping, not the stage's work.
    """
    mlflow_client = client(uri)
    host = socket.gethostname()
    try:
        found = mlflow_client.get_experiment_by_name(experiment)
        runs = (
            []
            if found is None
            else mlflow_client.search_runs(
                [found.experiment_id],
                f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'",
            )
        )
    except Exception as exc:
        log.warning(
            "could not look for runs left open by ended processes: %s", redact(first_line(exc), uri)
        )
        return []
    closed = []
    for run in runs:
        process = run.data.tags.get(PROCESS_TAG, "")
        if not _owner_is_gone(process):
            continue
        pid = process.split()[0]
        reason = (
            f"process {pid} on {host} ended without closing the run (killed with SIGKILL or by "
            f"the out-of-memory killer); marked at {timestamp()} by the next stage on {host}"
        )
        try:
            mlflow_client.set_tag(run.info.run_id, END_REASON_TAG, reason)
            mlflow_client.set_terminated(run.info.run_id, status="KILLED")
        except Exception as exc:
            log.warning(
                "MLflow run %s was left running by process %s, which has ended, but cannot be "
                "marked: %s",
                run.info.run_id,
                pid,
                redact(first_line(exc), uri),
            )
            continue
        log.warning(
            "MLflow run %s (%s) was left running by process %s, which has ended: marked KILLED",
            run.info.run_id,
            run.info.run_name,
            pid,
        )
        closed.append(run.info.run_id)
    return closed
