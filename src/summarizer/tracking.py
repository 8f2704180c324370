"""The MLflow tracking store: where it is, whether it can be used, its errors in plain words,
experiments, and the git lineage a run is traced back by.

Runs themselves are :mod:`summarizer.tracking_runs`; which process holds one open,
:mod:`summarizer.run_ownership`. With :mod:`summarizer.registry` (versions, aliases and the
pyfunc model), these are the only code that imports ``mlflow``; all import it inside functions,
because it takes seconds to import.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from summarizer.errors import SummarizerError, first_line
from summarizer.project import project_root
from summarizer.redaction import mask_uri, redact

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
