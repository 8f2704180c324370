"""No MLflow run stays RUNNING after its process ended: every way out of a stage marks it, and a
run whose process was killed outright is marked by the next stage on the same machine. Against
real SQLite stores and real processes and signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from summarizer import run_ownership, tracking, tracking_runs

EXPERIMENT = "lifecycle"


@pytest.fixture
def uri(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.ensure_reachable(uri)
    return uri


def start(uri: str) -> tracking_runs.TrackedRun:
    return tracking_runs.TrackedRun.start(uri, EXPERIMENT, params={"train.lr": 0.1}, run_name="r")


def status(uri: str, run_id: str) -> tuple[str, bool, str | None]:
    """The run's status, whether it has an end time, and its end reason."""
    run = MlflowClient(uri).get_run(run_id)
    reason = run.data.tags.get(run_ownership.END_REASON_TAG)
    return run.info.status, run.info.end_time is not None, reason


def test_a_run_that_ends_normally_is_finished(uri: str) -> None:
    with start(uri).closing() as run:
        run.log_metrics({"val_loss": 1.0})
    assert status(uri, run.run_id) == ("FINISHED", True, None)


def test_an_error_marks_the_run_failed_with_the_reason(uri: str) -> None:
    run = start(uri)
    with pytest.raises(ValueError, match="boom"), run.closing():
        raise ValueError("boom\nand a long traceback-like tail")
    assert status(uri, run.run_id) == ("FAILED", True, "ValueError: boom")


def test_ctrl_c_marks_the_run_killed(uri: str) -> None:
    run = start(uri)
    with pytest.raises(KeyboardInterrupt), run.closing():
        raise KeyboardInterrupt
    assert status(uri, run.run_id)[:2] == ("KILLED", True)


def test_sigterm_marks_the_run_killed_and_exits_with_143(uri: str) -> None:
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    run = start(uri)
    with pytest.raises(run_ownership.Terminated) as stopped, run.closing():
        os.kill(os.getpid(), signal.SIGTERM)  # without the handler, this process would be gone
        time.sleep(5)  # the handler raises as soon as the signal arrives
        raise AssertionError("SIGTERM did not stop the block")
    assert stopped.value.code == 128 + signal.SIGTERM
    assert status(uri, run.run_id) == ("KILLED", True, "Terminated: SIGTERM received")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # given back


def test_a_stopped_training_marks_the_run_killed(uri: str) -> None:
    from summarizer.training import TrainingInterrupted

    run = start(uri)
    with pytest.raises(TrainingInterrupted), run.closing():
        raise TrainingInterrupted(signal.SIGTERM, Path("models/checkpoints/last.pt"))
    assert status(uri, run.run_id)[:2] == ("KILLED", True)


def killed_with_sigkill(uri: str, tmp_path: Path) -> tuple[str, int]:
    """A run started by a process that then died of SIGKILL, and that process's id."""
    code = f"""
        import os, signal
        from summarizer import tracking_runs
        run = tracking_runs.TrackedRun.start({uri!r}, {EXPERIMENT!r}, run_name="killed")
        print(run.run_id, os.getpid(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    run_id, pid = result.stdout.split()
    return run_id, int(pid)


def test_a_run_left_running_by_kill_9_is_marked_by_the_next_stage(uri: str, tmp_path: Path) -> None:
    killed, pid = killed_with_sigkill(uri, tmp_path)
    assert status(uri, killed) == ("RUNNING", False, None)
    alive = start(uri)  # this process: alive, so left alone
    elsewhere = start(uri)  # another machine's process: its fate cannot be seen from here
    MlflowClient(uri).set_tag(
        elsewhere.run_id, run_ownership.PROCESS_TAG, f"{pid} 1.00 0123456789abcdef"
    )

    assert run_ownership.close_abandoned_runs(uri, EXPERIMENT) == [killed]
    state, ended, reason = status(uri, killed)
    assert (state, ended) == ("KILLED", True)
    assert reason is not None and reason.startswith(f"process {pid} on ")
    assert "ended without closing the run" in reason
    assert status(uri, alive.run_id)[0] == status(uri, elsewhere.run_id)[0] == "RUNNING"
    assert run_ownership.close_abandoned_runs(uri, EXPERIMENT) == []

    # Resumed (its checkpoint names it): running again, and the stale reason is gone.
    resumed = tracking_runs.TrackedRun.start(uri, EXPERIMENT, run_id=killed)
    state, _, reason = status(uri, resumed.run_id)
    assert (state, reason) == ("RUNNING", None)
    for run in (alive, elsewhere, resumed):
        run.end("FINISHED")


def test_a_reused_process_id_does_not_keep_a_dead_run_open(uri: str) -> None:
    run = start(uri)
    pid, started, machine = (
        MlflowClient(uri).get_run(run.run_id).data.tags[run_ownership.PROCESS_TAG].split()
    )
    # The same pid (this process, alive) but another start time: the run's process is gone.
    MlflowClient(uri).set_tag(
        run.run_id, run_ownership.PROCESS_TAG, f"{pid} {float(started) - 1000:.2f} {machine}"
    )
    assert run_ownership.close_abandoned_runs(uri, EXPERIMENT) == [run.run_id]


def test_an_experiment_not_created_yet_has_nothing_to_close(uri: str) -> None:
    assert run_ownership.close_abandoned_runs(uri, "no-such-experiment") == []
