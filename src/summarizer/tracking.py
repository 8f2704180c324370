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
import subprocess
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from summarizer.errors import SummarizerError, first_line
from summarizer.project import project_root

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
            f"MLflow tracking store at {uri} cannot be reached: {first_line(exc)}"
        ) from None
    _check_writable(database)


def error_code(exc: BaseException) -> str | None:
    """The MLflow error code of an exception (``RESOURCE_DOES_NOT_EXIST``...), if it has one."""
    return getattr(exc, "error_code", None)


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


def flatten_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Param values as MLflow stores them: strings, cut to the longest value it accepts."""
    return {key: str(value)[:MAX_PARAM_VALUE] for key, value in params.items()}


class TrainingRun:
    """An MLflow run that can be resumed by id after an interruption."""

    def __init__(self, uri: str, run_id: str) -> None:
        self.uri = uri
        self.run_id = run_id
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
        try:
            if run_id is not None:
                mlflow_client.update_run(run_id, status="RUNNING")
                log.info("resuming MLflow run %s", run_id)
            else:
                run = mlflow_client.create_run(
                    experiment_id(uri, experiment), tags=dict(tags or {}), run_name=run_name
                )
                run_id = run.info.run_id
                if params:
                    from mlflow.entities import Param

                    flat = flatten_params(params)
                    items = [Param(key, value) for key, value in flat.items()]
                    for start in range(0, len(items), 100):  # MLflow's batch limit
                        mlflow_client.log_batch(run_id, params=items[start : start + 100])
        except TrackingError:
            raise
        except Exception as exc:
            raise TrackingError(f"MLflow at {uri}: cannot start a run: {exc}") from None
        return cls(uri, run_id)

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
                tags={**tags, "training_run": self.run_id},
                run_name=name,
            )
            params = {**training.data.params, **flat}
            items = [Param(key, value) for key, value in params.items()]
            for start in range(0, len(items), 100):  # MLflow's batch limit
                self._client.log_batch(run.info.run_id, params=items[start : start + 100])
        except Exception as exc:
            raise TrackingError(f"MLflow at {self.uri}: cannot log the evaluation: {exc}") from None
        log.info(
            "run %s was evaluated with other evaluate params; this evaluation is run %s",
            self.run_id,
            run.info.run_id,
        )
        return TrainingRun(self.uri, run.info.run_id)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log ``metrics`` at ``step`` (0 if None) in one batch."""
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        batch = [Metric(key, float(value), now, step or 0) for key, value in metrics.items()]
        self._client.log_batch(self.run_id, metrics=batch)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Copy a file, or a directory's contents, into the run's artifacts."""
        if Path(path).is_dir():
            self._client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self._client.log_artifact(self.run_id, str(path), artifact_path)

    def end(self, status: str = "FINISHED") -> None:
        """Mark the run terminated with ``status`` (FINISHED, FAILED or KILLED)."""
        self._client.set_terminated(self.run_id, status=status)

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
            log.warning("system metrics disabled: %s", exc)
            yield
            return
        try:
            yield
        finally:
            monitor.finish()
