"""Command line: one command per DVC stage, plus the tools users run by hand.

Heavy libraries (torch, great_expectations, mlflow) are imported inside the commands that need
them so that ``summarizer --help`` and the light stages start fast.
"""

from __future__ import annotations

import logging
import os
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
    # MLflow configures its own loggers on import (after this runs), from this variable.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for noisy in ("great_expectations", "mlflow", "alembic", "urllib3", "matplotlib", "absl"):
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


@app.command()
@_user_errors
def evaluate(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Decode the test split, score it with ROUGE beside the baseline, write reports."""
    from summarizer.evaluation import run_evaluate

    run_evaluate(load_params(params_file))


@app.command()
@_user_errors
def score(
    predictions: Annotated[Path, typer.Argument(help="Predictions: .txt (one per line) or .jsonl")],
    references: Annotated[
        list[Path], typer.Argument(help="One or more reference files, line-aligned.")
    ],
    prediction_field: Annotated[
        str | None, typer.Option(help="JSON Lines field holding each prediction.")
    ] = None,
    reference_field: Annotated[
        str | None, typer.Option(help="JSON Lines field holding each reference.")
    ] = None,
    sentence_separator: Annotated[
        str | None, typer.Option(help="Split text lines into sentences on this (e.g. '<q>').")
    ] = None,
    measure: Annotated[str, typer.Option(help="Headline measure: f, r or p.")] = "f",
    truncate_bytes: Annotated[
        int | None, typer.Option(help="Cut predictions to N bytes (DUC-2004: 75).")
    ] = None,
    params_file: ParamsOption = PARAMS_FILE,
    output: Annotated[Path | None, typer.Option(help="Write the metrics as JSON here.")] = None,
) -> None:
    """Score any predictions file with exactly the evaluate stage's scorer and options."""
    from summarizer.config import EvaluateParams
    from summarizer.evaluation import scoring_options
    from summarizer.scoring import score_files

    evaluate = load_params(params_file).evaluate if params_file.is_file() else EvaluateParams()
    options = scoring_options(evaluate, measure=measure, truncate_bytes=truncate_bytes)
    scores = score_files(
        predictions,
        references,
        prediction_field=prediction_field,
        reference_field=reference_field,
        options=options,
        sentence_separator=sentence_separator,
        progress=True,
    )
    metrics = scores.to_metrics()
    if output is not None:
        from summarizer.io import write_json

        write_json(output, metrics)
    from rich.table import Table

    table = Table(title=f"ROUGE ({scores.n_examples} examples, x100)")
    for column in ("", "P", "R", "F1", "95% CI (headline)"):
        table.add_column(column)
    for rouge_type in options.rouge_types:
        key = f"{rouge_type}_{options.measure}"
        interval = (
            f"{metrics[key + '_low']:.2f}-{metrics[key + '_high']:.2f}"
            if key + "_low" in metrics
            else "-"
        )
        table.add_row(
            rouge_type,
            f"{metrics[rouge_type + '_p']:.2f}",
            f"{metrics[rouge_type + '_r']:.2f}",
            f"{metrics[rouge_type + '_f']:.2f}",
            interval,
        )
    Console().print(table)


@app.command("tune-decoding")
@_user_errors
def tune_decoding(
    values: Annotated[
        list[str],
        typer.Option(
            "--set",
            "-s",
            help="OPTION=V1,V2,... for an evaluate.decode option; repeat to combine "
            "(e.g. -s alpha=0.6,1,1.5 -s min_length=0,4).",
        ),
    ],
    model: Annotated[Path, typer.Option(help="Model directory.")] = Paths.model_dir,
    split: Annotated[
        str, typer.Option(help="Held-out split to tune on: validation or train, never test.")
    ] = "validation",
    max_examples: Annotated[int | None, typer.Option(help="Use the first N examples.")] = None,
    rank_by: Annotated[str, typer.Option(help="ROUGE type to rank by.")] = "rougeL",
    output: Annotated[Path | None, typer.Option(help="Write every trial as CSV here.")] = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Score combinations of decoding options on held-out data and rank them."""
    import yaml

    from summarizer.errors import ConfigError
    from summarizer.evaluation import load_split, scoring_options
    from summarizer.inference import Summarizer
    from summarizer.io import atomic_path
    from summarizer.tuning import grid, sweep, trials_table

    if split not in ("validation", "train"):
        raise ConfigError(
            f"--split {split}: tune on validation (or train); choosing options on the test "
            "split would make its scores optimistic"
        )
    grid_values: dict[str, list[Any]] = {}
    for item in values:
        name, sep, listed = item.partition("=")
        if not sep or not listed:
            raise ConfigError(f"--set {item!r}: expected OPTION=V1,V2,...")
        grid_values[name.strip()] = [yaml.safe_load(value) for value in listed.split(",")]
    evaluate = load_params(params_file).evaluate
    # Scores of each trial only need the mean; intervals would cost a bootstrap per trial.
    scoring = scoring_options(evaluate, bootstrap_samples=0)
    if rank_by not in scoring.rouge_types:
        raise ConfigError(f"--rank-by {rank_by}: not one of {', '.join(scoring.rouge_types)}")
    candidates = grid(evaluate.decode, grid_values)  # bad options fail before any decoding
    table = load_split(split, max_examples)
    trials = sweep(
        Summarizer.from_dir(model),
        table["document"].tolist(),
        table["references"].tolist(),
        candidates,
        scoring,
        base=evaluate.decode,
        rank_by=rank_by,
        progress=True,
    )
    if output is not None:
        with atomic_path(output) as tmp:
            trials_table(trials).to_csv(tmp, index=False)

    from rich.table import Table

    tried = list(grid_values)
    view = Table(title=f"decoding options on {split} ({len(table)} examples, ROUGE F1 x100)")
    for column in (*tried, *scoring.rouge_types, "mean length", "seconds"):
        view.add_column(column)
    for trial in trials:
        view.add_row(
            *(str(getattr(trial.options, name)) for name in tried),
            *(f"{trial.scores[name]:.2f}" for name in scoring.rouge_types),
            f"{trial.mean_length:.2f}",
            f"{trial.seconds:.1f}",
        )
    Console().print(view)
    best = trials[0]
    if best.changed:
        settings = " ".join(f"-S evaluate.decode.{k}={v}" for k, v in best.changed.items())
        Console().print(
            f"best by {rank_by}: dvc exp run {settings}", highlight=False, soft_wrap=True
        )
    else:
        Console().print(f"best by {rank_by}: the current evaluate.decode options", highlight=False)


# register, summarize, models, promote, rollback: defined apart so this file stays about stages.
from summarizer.registry_cli import add_commands  # noqa: E402

add_commands(app, _user_errors)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
