"""``summarizer tracking-server``: the team's MLflow tracking server, a PostgreSQL backend store
and proxied artifacts, so clients need only ``MLFLOW_TRACKING_URI=http://host:port``.

The database is tried before ``mlflow server`` starts: a refused or misconfigured database
otherwise surfaces as a traceback from a worker, or as a server that starts and fails every
request.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from summarizer.errors import SummarizerError, first_line

log = logging.getLogger(__name__)

BACKEND_ENV = "MLFLOW_BACKEND_STORE_URI"  # the variables `mlflow server` reads itself
ARTIFACTS_ENV = "MLFLOW_ARTIFACTS_DESTINATION"
PSYCOPG_DRIVER = "postgresql+psycopg"  # psycopg 3; SQLAlchemy's bare postgresql:// means psycopg2
EXAMPLE_URI = "postgresql+psycopg://mlflow:PASSWORD@127.0.0.1:5432/mlflow"


class TrackingServerError(SummarizerError):
    """The tracking server's configuration or database is not usable."""


def backend_uri(raw: str):  # -> sqlalchemy.engine.URL
    """``raw`` parsed, with the psycopg 3 driver named when the URI names none."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
    except ArgumentError:
        raise TrackingServerError(
            f"${BACKEND_ENV} is not a database URI; expected e.g. {EXAMPLE_URI}"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername=PSYCOPG_DRIVER)
    return url


def masked(url) -> str:
    """The URI as it may be printed: the password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def _hint(message: str, url) -> str:
    text = message.lower()
    if "password" in text or "authentication" in text:
        return f"check the user name and password in ${BACKEND_ENV}"
    if "does not exist" in text and "database" in text:
        return (
            f"create the database first: createdb -h {url.host} -p {url.port or 5432} "
            f"-U {url.username} {url.database}"
        )
    return (
        f"start PostgreSQL (pg_ctl -D DATADIR start) or correct the host and port in ${BACKEND_ENV}"
    )


def check_database(url, timeout: int = 5) -> None:
    """Open and close one connection to the PostgreSQL database at ``url``, or raise
    :class:`TrackingServerError` naming it (password masked) and what to do."""
    if not url.drivername.startswith("postgresql"):
        log.warning("%s is not PostgreSQL: not checked before start", masked(url))
        return
    try:
        import psycopg
    except ImportError:
        raise TrackingServerError(
            "the PostgreSQL driver is not installed: pip install 'psycopg[binary]'"
        ) from None
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(conninfo, connect_timeout=timeout).close()
    except psycopg.Error as exc:
        message = first_line(exc)
        raise TrackingServerError(
            f"cannot connect to database {masked(url)} (${BACKEND_ENV}): {message}; "
            f"{_hint(message, url)}"
        ) from None


def artifacts_destination(raw: str) -> str:
    """An object-store URI as it is, a local path made absolute (the server's working
    directory is not what a reader of the configuration expects it to be relative to)."""
    if "://" in raw:
        return raw
    return Path(raw).expanduser().resolve().as_uri()


def server_command(host: str, port: int, workers: int, extra: list[str]) -> list[str]:
    """The ``mlflow server`` command line, proxying artifacts so that clients never need the
    artifact store's credentials or a path on the server's disk. The store and the artifact
    destination are not on it: ``mlflow server`` reads them from the environment, which keeps
    the password out of ``ps``."""
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    return [
        mlflow,
        "server",
        "--serve-artifacts",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *extra,
    ]


def main(
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 to accept other machines.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(help="Server worker processes.")] = 2,
    extra: Annotated[
        list[str] | None,
        typer.Argument(help="More `mlflow server` options, after `--` (e.g. --allowed-hosts)."),
    ] = None,
) -> None:
    """Run the MLflow tracking server on the PostgreSQL database in $MLFLOW_BACKEND_STORE_URI,
    proxying artifacts to $MLFLOW_ARTIFACTS_DESTINATION (a shared directory or s3://...)."""
    raw_backend = os.environ.get(BACKEND_ENV, "").strip()
    raw_artifacts = os.environ.get(ARTIFACTS_ENV, "").strip()
    if not raw_backend:
        raise TrackingServerError(f"set ${BACKEND_ENV} to the database, e.g. {EXAMPLE_URI}")
    if not raw_artifacts:
        raise TrackingServerError(
            f"set ${ARTIFACTS_ENV} to where the server keeps artifacts: a directory it can "
            "write (e.g. /srv/mlflow/artifacts) or an object store (s3://bucket/mlflow)"
        )
    url = backend_uri(raw_backend)
    check_database(url)
    os.environ[BACKEND_ENV] = url.render_as_string(hide_password=False)
    os.environ[ARTIFACTS_ENV] = artifacts_destination(raw_artifacts)
    # MLflow's job runner (huey consumers, for GenAI trace jobs) is seven more processes this
    # project never gives work to; MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true brings it back.
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    command = server_command(host, port, workers, list(extra or []))
    log.info(
        "MLflow tracking server on http://%s:%d: store %s, artifacts %s",
        host,
        port,
        masked(url),
        os.environ[ARTIFACTS_ENV],
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # exec: signals sent to this process (a service manager's stop) reach the server itself.
    os.execvp(command[0], command)
