"""The Typer app every command module registers on, and what all commands share: the error
handler, logging set-up and the options that more than one command takes.

Heavy libraries (torch, great_expectations, mlflow) are imported inside the commands that need
them so that ``summarizer --help`` and the light stages start fast.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from summarizer import tracking_server
from summarizer.config.params import PARAMS_FILE, Params, load_params
from summarizer.config.registry import RegisterParams
from summarizer.errors import SummarizerError
from summarizer.redaction import environment_secrets, redact
from summarizer.tracking import access_error

app = typer.Typer(
    help="Train, evaluate, register and serve an abstractive summarizer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
log = logging.getLogger("summarizer")
F = TypeVar("F", bound=Callable[..., Any])

ParamsOption = Annotated[Path, typer.Option("--params", help="Parameter file.", dir_okay=False)]
NameOption = Annotated[
    str | None,
    typer.Option("--name", help="Registered model name. Default: register.model_name."),
]


# Where MLflow and `summarizer tracking-server` read URIs that may carry a password.
URI_VARIABLES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_BACKEND_STORE_URI",
    "MLFLOW_ARTIFACTS_DESTINATION",
)


def shown(message: str) -> str:
    """``message`` as it may reach a terminal: the credentials of the URIs and secrets in this
    environment masked (:func:`summarizer.redaction.redact`)."""
    uris = [os.environ[name] for name in URI_VARIABLES if os.environ.get(name)]
    return redact(message, *uris, secrets=environment_secrets())


def command(name: str | None = None) -> Callable[[F], F]:
    """Register ``func`` as a command whose project errors print as one line and exit 1."""

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                # A login or permission the tracking server refused reads as one line too.
                refused = exc if isinstance(exc, SummarizerError) else access_error(exc)
                if refused is None:
                    raise
                message = shown(str(refused))  # the last guard before the terminal
                err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
                raise typer.Exit(code=1) from None
            except KeyboardInterrupt:
                err_console.print("[bold red]interrupted[/]")
                raise typer.Exit(code=130) from None

        app.command(name)(wrapper)
        return func

    return decorate


@app.callback()
def _configure(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=False)],
    )
    # MLflow configures its own loggers on import (after this runs), from this variable.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for noisy in ("great_expectations", "mlflow", "alembic", "urllib3", "matplotlib", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def optional_params(params_file: Path = PARAMS_FILE) -> Params | None:
    """``params.yaml`` when there is one: outside the repository the tools still work."""
    return load_params(params_file) if params_file.is_file() else None


def tracking_store(params: Params | None) -> str:
    """The MLflow store the commands talk to (``$MLFLOW_TRACKING_URI`` first)."""
    from summarizer import tracking

    return tracking.tracking_uri(params.tracking.uri if params else None)


def register_settings(params: Params | None) -> RegisterParams:
    """The ``register`` section, or an error saying where to find one."""
    if params is None:
        raise SummarizerError(
            "no parameter file here; run from the repository or pass --params (or --name)"
        )
    return params.register_


def model_name(name: str | None, params: Params | None) -> str:
    """``--name`` if given, else the registered model name from ``params.yaml``."""
    return name or register_settings(params).model_name


# The team's MLflow server: a tool run by hand beside the pipeline, not a stage.
command("tracking-server")(tracking_server.main)
