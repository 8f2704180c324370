"""Experiment tracking in MLflow: where the store is, runs with their params, metrics, tags and
artifacts, and the lineage (git commit, data hash) a run is traced back by.

With :mod:`summarizer.registry` (versions, aliases and the pyfunc model), this is the only code
that imports ``mlflow``; both import it inside functions, because it takes seconds to import.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from summarizer.errors import SummarizerError, first_line
from summarizer.project import project_root
from summarizer.redaction import environment_secrets, mask_uri, redact

log = logging.getLogger(__name__)

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"
MAX_PARAM_VALUE = 6000  # MLflow rejects longer parameter values


class TrackingError(SummarizerError):
    """The tracking store cannot be reached or refused an operation."""


def tracking_uri(configured: str | None = None) -> str:
    """``$MLFLOW_TRACKING_URI`` first (so one variable moves everything to a server), then the
    params value, then an embedded SQLite database in the repository root."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or configured
    if uri:
        return uri
    # The project's root, not the working directory: a queued or --temp experiment runs in a
    # copy that DVC deletes afterwards, and its runs would go with it.
    return f"sqlite:///{project_root() / DEFAULT_DB}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of an embedded SQLite store, or None for any other store."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


def _default_artifact_location(uri: str) -> str | None:
    # Artifacts of the embedded store sit beside its database, not in ./mlruns of whatever
    # directory a command happened to run in.
    database = sqlite_path(uri)
    return (database.parent / DEFAULT_ARTIFACTS).as_uri() if database else None


def client(uri: str):  # -> MlflowClient, imported lazily (mlflow takes seconds to import)
    """An MLflow client whose tracking and registry are both the store at ``uri``."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def _store_lock(database: Path):
    """Hold an exclusive lock on the directory of an SQLite store while the block runs."""
    # Experiments started together (dvc queue start -j 2) would otherwise both find an empty
    # database and both create its tables, and one of them fails.
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent first runs are the user's to avoid
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(database.parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _check_writable(database: Path) -> None:
    """Raise :class:`TrackingError` if runs cannot be written into the SQLite file ``database``."""
    import sqlite3

    # A reserved lock is what every write takes first: refused on a read-only file. A read-only
    # directory shows when SQLite creates its journal, so a write is tried and rolled back.
    connection = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("CREATE TABLE summarizer_write_probe (x INTEGER)")
        connection.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return  # another process is writing: the store is writable
        raise TrackingError(
            f"MLflow store {database} cannot be written ({exc}): runs and models would be lost. "
            f"Make the file and its directory writable (chmod u+w {database} {database.parent}), "
            "or point tracking.uri in params.yaml or $MLFLOW_TRACKING_URI at a writable store"
        ) from None
    finally:
        connection.close()


def ensure_reachable(uri: str) -> None:
    """Fail fast, before any expensive work, if the store cannot be used."""
    # One quick attempt instead of MLflow's default minutes of retries against a dead server.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    database = sqlite_path(uri)
    try:
        if database is None:
            client(uri).search_experiments(max_results=1)
            return
        with _store_lock(database):
            client(uri).search_experiments(max_results=1)  # creates the tables of a new store
    except Exception as exc:  # any failure here means the run would be lost later
        if database is not None and database.is_file():
            _check_writable(database)  # the likelier cause, said plainly
        raise TrackingError(
            f"MLflow tracking store at {mask_uri(uri)} cannot be reached: "
            f"{redact(first_line(exc), uri)}"
        ) from None
    _check_writable(database)


def error_code(exc: BaseException) -> str | None:
    """The MLflow error code of an exception (``RESOURCE_DOES_NOT_EXIST``...), if it has one."""
    return getattr(exc, "error_code", None)


# What a tracking server with logins (``summarizer tracking-server``) answers, by MLflow's code.
LOGIN_REFUSED = {"UNAUTHENTICATED", "PERMISSION_DENIED"}


def access_error(exc: BaseException) -> TrackingError | None:
    """A clear error for a request the tracking server refused for want of a login (401) or a
    permission (403), naming the account and what the server said; None for anything else."""
    code = error_code(exc)
    if code not in LOGIN_REFUSED:
        return None
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    said = str(exc).partition("Response body: ")[2].strip().strip("'") or first_line(exc)
    if code == "UNAUTHENTICATED":
        return TrackingError(
            "the tracking server asks for a login"
            + (f" and refused the one of '{user}'" if user else "")
            + ": set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to your account's"
        )
    return TrackingError(
        f"the tracking server refused this to '{user or 'anonymous'}': {said.split(chr(10))[0]} "
        "(ask whoever manages the registered model or experiment for a grant)"
    )


def is_not_found(exc: BaseException) -> bool:
    """Whether the store answered that a run, model or version does not exist; file and server
    stores say so with different codes, and some only in the message."""
    return (
        error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
        or "not found" in str(exc).lower()
    )


def timestamp() -> str:
    """Now, in UTC to the second (ISO 8601): the time format of every tag and report we write."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# MLflow 3's UI opens an experiment without this tag on its GenAI overview, not on the runs table.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def experiment_id(uri: str, name: str) -> str:
    """The id of experiment ``name``, created (artifacts beside an SQLite store) if missing."""
    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        if EXPERIMENT_KIND[0] not in experiment.tags:
            mlflow_client.set_experiment_tag(experiment.experiment_id, *EXPERIMENT_KIND)
        return experiment.experiment_id
    try:
        return mlflow_client.create_experiment(
            name,
            artifact_location=_default_artifact_location(uri),
            tags=dict([EXPERIMENT_KIND]),
        )
    except Exception as exc:
        # Another run created it in between (two queued experiments starting together).
        experiment = mlflow_client.get_experiment_by_name(name)
        if error_code(exc) == "RESOURCE_ALREADY_EXISTS" and experiment is not None:
            return experiment.experiment_id
        raise


# What a run is made of besides data: git_dirty says whether any of it differs from the commit.
# The pipeline's own outputs (dvc.lock, reports/) change during every `dvc repro` and are left out.
SOURCE_PATHS = ("src", "params.yaml", "dvc.yaml", "configs", "pyproject.toml", "requirements")


def git_tags(cwd: Path | None = None) -> dict[str, str]:
    """Commit, and whether code or params differ from it (:data:`SOURCE_PATHS`, new files
    included), so a run can be traced back to what made it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        # From the top of the repository, whatever directory the command runs in.
        specs = [f":(top){path}" for path in SOURCE_PATHS]
        dirty = bool(git("status", "--porcelain", "--", *specs))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"mlflow.source.git.commit": commit, "git_commit": commit, "git_dirty": str(dirty)}


# Where a run's model came from; an evaluation in a run of its own carries them too.
LINEAGE_TAGS = ("dataset", "data_hash", "git_commit", "git_dirty", "mlflow.source.git.commit")


# Which process holds a run open. A process that dies without closing its run (kill -9, the
# out-of-memory killer, a power cut) cannot mark it; the next stage on the same machine finds it
# RUNNING with a process that is gone, and marks it (close_abandoned_runs).
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


def claim(uri: str, run_id: str) -> None:
    """Tag run ``run_id`` as held by this process: a stage that reopens a finished run (as
    ``register`` does to log the model) so that another stage does not take it for abandoned.
    A run that cannot be tagged is left to the caller's own calls to report."""
    try:
        mlflow_client = client(uri)
        for key, value in owner_tags().items():
            mlflow_client.set_tag(run_id, key, value)
    except Exception as exc:
        log.debug("run %s not tagged as held: %s", run_id, redact(first_line(exc), uri))


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


def flatten_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Param values as MLflow stores them: strings, cut to the longest value it accepts."""
    return {key: str(value)[:MAX_PARAM_VALUE] for key, value in params.items()}


class TrainingRun:
    """An MLflow run that can be resumed by id after an interruption.

    A run this process opened (``opened``: :meth:`start`, or a new evaluation run) carries
    :func:`owner_tags`; :meth:`closing` guarantees it does not stay RUNNING after the stage.
    """

    def __init__(self, uri: str, run_id: str, opened: bool = False) -> None:
        self.uri = uri
        self.run_id = run_id
        self.opened = opened
        self.ended: str | None = None  # the status this process gave it
        self._client = client(uri)

    @classmethod
    def start(
        cls,
        uri: str,
        experiment: str,
        *,
        run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        run_name: str | None = None,
    ) -> TrainingRun:
        """Resume run ``run_id`` (marked running again), or create one with ``params`` and
        ``tags`` in ``experiment``; any failure is a :class:`TrackingError`."""
        mlflow_client = client(uri)
        created = None
        try:
            if run_id is not None:
                mlflow_client.update_run(run_id, status="RUNNING")
                for key, value in owner_tags().items():
                    mlflow_client.set_tag(run_id, key, value)
                if END_REASON_TAG in mlflow_client.get_run(run_id).data.tags:
                    mlflow_client.delete_tag(run_id, END_REASON_TAG)  # it goes on after all
                log.info("resuming MLflow run %s", run_id)
            else:
                run = mlflow_client.create_run(
                    experiment_id(uri, experiment),
                    tags={**dict(tags or {}), **owner_tags()},
                    run_name=run_name,
                )
                run_id = created = run.info.run_id
                if params:
                    from mlflow.entities import Param

                    flat = flatten_params(params)
                    items = [Param(key, value) for key, value in flat.items()]
                    for start in range(0, len(items), 100):  # MLflow's batch limit
                        mlflow_client.log_batch(run_id, params=items[start : start + 100])
        except TrackingError:
            raise
        except Exception as exc:
            if created is not None:
                cls(uri, created).end("FAILED", f"cannot log its params: {first_line(exc)}")
            raise TrackingError(
                f"MLflow at {mask_uri(uri)}: cannot start a run: {redact(str(exc), uri)}"
            ) from None
        return cls(uri, run_id, opened=True)

    def for_evaluation(self, evaluate_params: Mapping[str, Any]) -> TrainingRun:
        """The run an evaluation with ``evaluate_params`` is logged into.

        This run the first time (the params are logged into it) and whenever it was evaluated
        with the same params. Evaluated before with others (``dvc exp run -S
        evaluate.decode.beam_size=1`` re-runs evaluate on the cached training), MLflow keeps
        params immutable and would overwrite the earlier scores; so the evaluation gets a new run
        in the same experiment, with this run's params and tags, a name ending in ``-eval-`` and
        the hash of its params, and the tag ``training_run`` pointing back here.
        """
        from mlflow.entities import Param

        flat = flatten_params(evaluate_params)
        run = None
        try:
            training = self._client.get_run(self.run_id)
            logged = {k: v for k, v in training.data.params.items() if k in flat}
            if logged == flat:
                return self
            if not logged:
                self._client.log_batch(self.run_id, params=[Param(k, v) for k, v in flat.items()])
                return self
            digest = hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()
            name = f"{training.info.run_name}-eval-{digest[:7]}"
            earlier = self._client.search_runs(
                [training.info.experiment_id],
                f"tags.training_run = '{self.run_id}' and attributes.run_name = '{name}'",
            )
            if earlier:  # the same evaluation again: its scores are replaced by equal ones
                return TrainingRun(self.uri, earlier[0].info.run_id)
            tags = {k: v for k, v in training.data.tags.items() if k in LINEAGE_TAGS}
            run = self._client.create_run(
                training.info.experiment_id,
                tags={**tags, "training_run": self.run_id, **owner_tags()},
                run_name=name,
            )
            params = {**training.data.params, **flat}
            items = [Param(key, value) for key, value in params.items()]
            for start in range(0, len(items), 100):  # MLflow's batch limit
                self._client.log_batch(run.info.run_id, params=items[start : start + 100])
        except Exception as exc:
            if run is not None:
                TrainingRun(self.uri, run.info.run_id).end(
                    "FAILED", f"cannot log its params: {first_line(exc)}"
                )
            raise TrackingError(
                f"MLflow at {mask_uri(self.uri)}: cannot log the evaluation: "
                f"{redact(str(exc), self.uri)}"
            ) from None
        log.info(
            "run %s was evaluated with other evaluate params; this evaluation is run %s",
            self.run_id,
            run.info.run_id,
        )
        return TrainingRun(self.uri, run.info.run_id, opened=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log ``metrics`` at ``step`` (0 if None) in one batch."""
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        batch = [Metric(key, float(value), now, step or 0) for key, value in metrics.items()]
        with self._failing_as(f"cannot log metrics into run {self.run_id}"):
            self._client.log_batch(self.run_id, metrics=batch)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Copy a file, or a directory's contents, into the run's artifacts."""
        what = f"cannot log {Path(path).name} into the artifacts of run {self.run_id}"
        with self._failing_as(what):
            if Path(path).is_dir():
                self._client.log_artifacts(self.run_id, str(path), artifact_path)
            else:
                self._client.log_artifact(self.run_id, str(path), artifact_path)

    def end(self, status: str = "FINISHED", reason: str | None = None) -> None:
        """Mark the run terminated with ``status`` (FINISHED, FAILED or KILLED); ``reason``
        (why it did not finish) goes into its :data:`END_REASON_TAG`. Ending a run that did not
        finish never raises: the error that ended it is the one worth showing."""
        try:
            if reason is not None:
                secrets = environment_secrets()
                shown = redact(reason, self.uri, secrets=secrets)[:MAX_PARAM_VALUE]
                self._client.set_tag(self.run_id, END_REASON_TAG, shown)
            self._client.set_terminated(self.run_id, status=status)
        except Exception as exc:
            if status == "FINISHED":
                raise TrackingError(
                    f"MLflow at {mask_uri(self.uri)}: cannot end run {self.run_id}: "
                    f"{redact(first_line(exc), self.uri)}"
                ) from None
            log.warning(
                "MLflow run %s could not be marked %s (%s); the next stage on this machine will",
                self.run_id,
                status,
                redact(first_line(exc), self.uri),
            )
            return
        self.ended = status

    @contextmanager
    def closing(self) -> Iterator[TrainingRun]:
        """Hold the run open while the block runs, and never leave it RUNNING: it ends
        FINISHED when the block ends (unless the block ended it), KILLED on SIGINT, SIGTERM (see
        :func:`exit_cleanly_on_sigterm`) or a training stopped by a signal, FAILED on any other
        error, which is raised again; the error's first line is the run's end reason."""
        try:
            with exit_cleanly_on_sigterm():
                yield self
        except BaseException as exc:
            if self.ended is None:
                stopped = isinstance(exc, KeyboardInterrupt | Terminated)
                stopped = stopped or getattr(exc, "signum", None) is not None  # TrainingInterrupted
                status = "KILLED" if stopped else "FAILED"
                self.end(status, f"{type(exc).__name__}: {first_line(exc)}")
                log.info("MLflow run %s marked %s", self.run_id, status)
            raise
        if self.ended is None:
            self.end("FINISHED")

    @contextmanager
    def _failing_as(self, what: str) -> Iterator[None]:
        # A store that fails mid-run (disk full under mlartifacts/, a server gone) says which
        # run and what could not be logged, in one line.
        try:
            yield
        except TrackingError:
            raise
        except Exception as exc:
            refused = access_error(exc)
            if refused is not None:
                raise refused from None
            raise TrackingError(
                f"MLflow at {mask_uri(self.uri)}: {what}: {redact(first_line(exc), self.uri)}"
            ) from None

    @contextmanager
    def system_metrics(self, enabled: bool = True):
        """Sample CPU, memory (and GPU) usage into the run while the block runs."""
        if not enabled:
            yield
            return
        try:
            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

            monitor = SystemMetricsMonitor(
                self.run_id, sampling_interval=5, resume_logging=True, tracking_uri=self.uri
            )
            monitor.start()
        except Exception as exc:  # psutil missing or unsupported platform: not worth a failure
            log.warning("system metrics disabled: %s", redact(str(exc), self.uri))
            yield
            return
        try:
            yield
        finally:
            monitor.finish()
