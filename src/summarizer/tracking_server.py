"""``summarizer tracking-server``: the team's MLflow tracking server, a PostgreSQL backend store
and proxied artifacts, so clients need only ``MLFLOW_TRACKING_URI=http://host:port`` and their
login (``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``).

Logins are on unless ``--no-auth``: MLflow's basic-auth app with this project's rule on
``@champion`` (:mod:`summarizer.tracking_auth`), configured by the file in
``$MLFLOW_AUTH_CONFIG_PATH`` as MLflow documents it. A registered model is code that teammates
and servers run, so a server anyone on the network can write to is off only when asked for.

The databases (runs, and the users' store) are tried and the admin account created before
``mlflow server`` starts: a refused or misconfigured database otherwise surfaces as a traceback
from a worker, or as a server that starts and fails every request.
"""

from __future__ import annotations

import configparser
import logging
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from summarizer.errors import SummarizerError, first_line
from summarizer.redaction import mask_uri, redact
from summarizer.tracking_auth import APP_NAME

log = logging.getLogger(__name__)

BACKEND_ENV = "MLFLOW_BACKEND_STORE_URI"  # the variables `mlflow server` reads itself
ARTIFACTS_ENV = "MLFLOW_ARTIFACTS_DESTINATION"
PSYCOPG_DRIVER = "postgresql+psycopg"  # psycopg 3; SQLAlchemy's bare postgresql:// means psycopg2
EXAMPLE_URI = "postgresql+psycopg://mlflow:PASSWORD@127.0.0.1:5432/mlflow"
# MLflow's own settings of its basic-auth app (the variables its documentation names).
AUTH_CONFIG_ENV = "MLFLOW_AUTH_CONFIG_PATH"
ADMIN_PASSWORD_ENV = "MLFLOW_AUTH_ADMIN_PASSWORD"
SECRET_KEY_ENV = "MLFLOW_FLASK_SERVER_SECRET_KEY"
AUTH_CONFIG_EXAMPLE = "configs/team/basic_auth.ini"
# A default that lets every account write everything is no login at all.
SAFE_DEFAULT_PERMISSIONS = ("READ", "NO_PERMISSIONS")


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
    """The URI as it may be printed: the password (and any secret query parameter) masked
    (:func:`summarizer.redaction.mask_uri`)."""
    return mask_uri(url.render_as_string(hide_password=False))


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
        message = redact(first_line(exc), conninfo)  # libpq may quote the connection string
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


def auth_settings(path_value: str) -> configparser.SectionProxy:
    """The ``[mlflow]`` section of the basic-auth configuration at ``path_value``, checked: its
    users' database is a URI (PostgreSQL with the psycopg 3 driver, or SQLite) and its default
    permission lets no account write what it was not granted."""
    path = Path(path_value).expanduser()
    parser = configparser.ConfigParser()
    try:
        read = parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise TrackingServerError(f"{path} (${AUTH_CONFIG_ENV}): {first_line(exc)}") from None
    if not read:
        raise TrackingServerError(
            f"{path} (${AUTH_CONFIG_ENV}): not found or not readable; copy "
            f"{AUTH_CONFIG_EXAMPLE} and fill it in"
        )
    if "mlflow" not in parser:
        raise TrackingServerError(f"{path}: no [mlflow] section; see {AUTH_CONFIG_EXAMPLE}")
    settings = parser["mlflow"]
    for key in ("database_uri", "default_permission", "admin_username"):
        if not settings.get(key, "").strip():
            raise TrackingServerError(f"{path}: [mlflow] {key} is not set")
    default = settings["default_permission"].strip().upper()
    if default not in SAFE_DEFAULT_PERMISSIONS:
        raise TrackingServerError(
            f"{path}: default_permission = {default} lets every account write every experiment "
            f"and registered model; use {' or '.join(SAFE_DEFAULT_PERMISSIONS)} and grant "
            "EDIT or MANAGE per account"
        )
    return settings


def users_database(settings: configparser.SectionProxy, path: str):  # -> sqlalchemy URL
    """The users' store of the auth configuration, parsed; a PostgreSQL URI must name the driver
    MLflow's auth app can load (it is not rewritten here: the file is the user's)."""
    url = backend_uri(settings["database_uri"].strip())
    if url.drivername.startswith("postgresql") and url.drivername != PSYCOPG_DRIVER:
        raise TrackingServerError(
            f"{path}: database_uri {masked(url)} needs the psycopg 3 driver the project "
            f"installs: write it as {PSYCOPG_DRIVER}://..."
        )
    return url


def prepare_auth() -> None:
    """Check the basic-auth configuration and its users' database, and create the admin account
    before any worker starts (a failure inside a worker would restart it forever)."""
    path = os.environ.get(AUTH_CONFIG_ENV, "").strip()
    if not path:
        raise TrackingServerError(
            f"logins are on: set ${AUTH_CONFIG_ENV} to MLflow's basic-auth configuration (copy "
            f"{AUTH_CONFIG_EXAMPLE}), and ${ADMIN_PASSWORD_ENV} on the first start; or pass "
            "--no-auth for a single user on a trusted machine"
        )
    settings = auth_settings(path)
    check_database(users_database(settings, path))
    # Flask needs one key for the CSRF tokens of MLflow's sign-up form, the same in every
    # worker; a key made per start only logs out that form's open pages on a restart.
    os.environ.setdefault(SECRET_KEY_ENV, secrets.token_urlsafe(32))
    try:
        # Imported only now: MLflow's auth module reads $MLFLOW_AUTH_CONFIG_PATH on import.
        from mlflow.environment_variables import _MLFLOW_AUTH_ADMIN_BOOTSTRAPPED
        from mlflow.server.auth import bootstrap_admin_user

        bootstrap_admin_user()
    except Exception as exc:
        raise TrackingServerError(f"cannot set up logins from {path}: {first_line(exc)}") from None
    finally:
        # Needed once, to create the admin account: the workers never see it.
        os.environ.pop(ADMIN_PASSWORD_ENV, None)
    # Done here, so the workers only open the users' store (MLflow's own flag for that).
    os.environ[_MLFLOW_AUTH_ADMIN_BOOTSTRAPPED.name] = "true"
    log.info(
        "logins on: users in %s, default permission %s, @champion moves need MANAGE",
        masked(users_database(settings, path)),
        settings["default_permission"].strip().upper(),
    )


def warn_no_auth(host: str, port: int) -> None:
    """Say, where it cannot be missed, what running without logins means."""
    exposed = host not in ("127.0.0.1", "localhost", "::1")
    log.warning(
        "LOGINS ARE OFF (--no-auth): anyone who can reach http://%s:%d can log runs, register "
        "versions, move @champion and delete models, and every client then runs what they "
        "registered.%s",
        host,
        port,
        " This server listens beyond this machine." if exposed else "",
    )


def server_command(
    host: str, port: int, workers: int, extra: list[str], auth: bool = True
) -> list[str]:
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
        *(["--app-name", APP_NAME] if auth else []),
        *extra,
    ]


def main(
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 to accept other machines.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(help="Server worker processes.")] = 2,
    auth: Annotated[
        bool,
        typer.Option(
            "--auth/--no-auth",
            help="Logins and permissions (MLflow basic auth, configured by "
            "$MLFLOW_AUTH_CONFIG_PATH). --no-auth: anyone who reaches the server may write; "
            "only for one user on a trusted machine.",
        ),
    ] = True,
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
    if auth:
        prepare_auth()
    else:
        warn_no_auth(host, port)
    os.environ[BACKEND_ENV] = url.render_as_string(hide_password=False)
    os.environ[ARTIFACTS_ENV] = artifacts_destination(raw_artifacts)
    # MLflow's job runner (huey consumers, for GenAI trace jobs) is seven more processes this
    # project never gives work to; MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true brings it back.
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    command = server_command(host, port, workers, list(extra or []), auth)
    log.info(
        "MLflow tracking server on http://%s:%d: store %s, artifacts %s",
        host,
        port,
        masked(url),
        mask_uri(os.environ[ARTIFACTS_ENV]),
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # exec: signals sent to this process (a service manager's stop) reach the server itself.
    os.execvp(command[0], command)
