"""The one module that talks to MLflow: tracking URI, runs, metrics, artifacts, registry."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from summarizer.errors import SummarizerError

log = logging.getLogger(__name__)

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"
MAX_PARAM_VALUE = 6000  # MLflow rejects longer parameter values


class TrackingError(SummarizerError):
    """The tracking store cannot be reached or refused an operation."""


def repo_root() -> Path:
    """The directory holding ``dvc.yaml``: DVC runs every stage from there."""
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dvc.yaml").is_file():
            return candidate
    return here


def tracking_uri(configured: str | None = None) -> str:
    """``$MLFLOW_TRACKING_URI`` first (so one variable moves everything to a server), then the
    params value, then an embedded SQLite database in the repository root."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or configured
    if uri:
        return uri
    return f"sqlite:///{repo_root() / DEFAULT_DB}"


def _default_artifact_location(uri: str) -> str | None:
    # Artifacts of the embedded store sit beside its database, not in ./mlruns of whatever
    # directory a command happened to run in.
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / DEFAULT_ARTIFACTS).as_uri()
    return None


def client(uri: str):  # -> MlflowClient, imported lazily (mlflow takes seconds to import)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_reachable(uri: str) -> None:
    """Fail fast, before any expensive work, if the store cannot be used."""
    # One quick attempt instead of MLflow's default minutes of retries against a dead server.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        client(uri).search_experiments(max_results=1)
    except Exception as exc:  # any failure here means the run would be lost later
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrackingError(f"MLflow tracking store at {uri} cannot be reached: {reason}") from None


def experiment_id(uri: str, name: str) -> str:
    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow_client.create_experiment(name, artifact_location=_default_artifact_location(uri))


def git_tags(cwd: Path | None = None) -> dict[str, str]:
    """Commit and dirtiness of the working tree, so a run can be traced back to its code."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"mlflow.source.git.commit": commit, "git_commit": commit, "git_dirty": str(dirty)}


def hash_files(paths: Iterable[Path]) -> str:
    """One digest over file names and contents (directories walked in sorted order)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file).encode())
            with open(file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def flatten_params(params: Mapping[str, Any]) -> dict[str, str]:
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

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        batch = [Metric(key, float(value), now, step or 0) for key, value in metrics.items()]
        self._client.log_batch(self.run_id, metrics=batch)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_tag(self.run_id, key, value)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if Path(path).is_dir():
            self._client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self._client.log_artifact(self.run_id, str(path), artifact_path)

    def end(self, status: str = "FINISHED") -> None:
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
