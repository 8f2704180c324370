"""Command line: one command per DVC stage, plus the tools users run by hand.

Heavy libraries (torch, great_expectations, mlflow) are imported inside the commands that need
them so that ``summarizer --help`` and the light stages start fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from summarizer.config import PARAMS_FILE, Paths, load_params
from summarizer.errors import SummarizerError

app = typer.Typer(
    help="Train, evaluate, register and serve an abstractive summarizer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
log = logging.getLogger("summarizer")

ParamsOption = Annotated[Path, typer.Option("--params", help="Parameter file.", dir_okay=False)]
F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(func: F) -> F:
    """Turn the project's own errors into one readable message and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SummarizerError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]")
            raise typer.Exit(code=130) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _configure(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=False)],
    )
    for noisy in ("great_expectations", "mlflow", "alembic", "urllib3", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
@_user_errors
def ingest(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Read the raw dataset into one canonical Parquet table per split."""
    from summarizer.data.ingest import run_ingest

    params = load_params(params_file)
    report = run_ingest(params.dataset, params.ingest)
    log.info("ingested '%s' into %s", report["dataset"], Paths.interim)


@app.command()
@_user_errors
def validate(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Check every split against the Great Expectations suite; fail on any broken expectation."""
    from summarizer.data.validation import run_validate

    params = load_params(params_file)
    run_validate(params.validate_, Paths.interim, Paths.validation_summary, Paths.validation_docs)
    log.info("all expectations met; data docs in %s", Paths.validation_docs)


@app.command()
@_user_errors
def tokenize(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Tokenize every split with spaCy into token sequences."""
    from summarizer.data.tokenization import run_tokenize

    params = load_params(params_file)
    counts = run_tokenize(params.tokenize)
    log.info("tokenized %s into %s", counts, Paths.processed)


@app.command()
@_user_errors
def vocab(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Build source and target vocabularies from the training split."""
    from summarizer.data.vocab import run_build_vocab

    params = load_params(params_file)
    metrics = run_build_vocab(params.vocab)
    for side in ("source", "target"):
        log.info(
            "%s vocabulary: %d tokens, validation OOV rate %.2f%%",
            side,
            metrics[side]["size"],
            100 * metrics[side]["validation_oov_rate"],
        )


@app.command()
@_user_errors
def train(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Train the seq2seq model (resumes an interrupted run), tracked in MLflow."""
    from summarizer.training import TrainingInterrupted, run_train

    params = load_params(params_file)
    try:
        run_train(params)
    except TrainingInterrupted as exc:
        err_console.print(f"[bold yellow]stopped:[/] {exc}")
        raise typer.Exit(code=128 + exc.signum) from None


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
