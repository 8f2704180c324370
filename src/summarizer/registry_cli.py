"""Commands around the model registry: ``register`` (the DVC stage), ``summarize``, ``models``,
``promote`` and ``rollback``.

They are plain functions with typed options; :func:`add_commands` puts them on the main Typer app
with its error handler, so this module never imports :mod:`summarizer.cli` (which imports it).
MLflow and torch are imported inside the commands: ``summarizer --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from summarizer.config import PARAMS_FILE, DecodeParams, Params, load_params
from summarizer.errors import DataError, SummarizerError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

ParamsOption = Annotated[Path, typer.Option("--params", help="Parameter file.", dir_okay=False)]
NameOption = Annotated[
    str | None,
    typer.Option("--name", help="Registered model name. Default: register.model_name."),
]


class OutputFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"


class InputFormat(StrEnum):
    auto = "auto"  # JSON Lines for .jsonl / .ndjson files, one document per line otherwise
    lines = "lines"
    jsonl = "jsonl"


class LengthPenalty(StrEnum):
    none = "none"
    avg = "avg"
    gnmt = "gnmt"


def _params(params_file: Path) -> Params | None:
    """``params.yaml`` when there is one: outside the repository the commands still work."""
    return load_params(params_file) if params_file.is_file() else None


def _store(params: Params | None) -> str:
    from summarizer import tracking

    return tracking.tracking_uri(params.tracking.uri if params else None)


def _register_settings(params: Params | None) -> Any:
    settings = getattr(params, "register_", None)
    if settings is None:
        raise SummarizerError(
            "no 'register' section in the parameters; run from the repository or pass --params"
        )
    return settings


def _model_name(name: str | None, params: Params | None) -> str:
    return name or _register_settings(params).model_name


# ------------------------------------------------------------------------------------ register
def register(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Log the evaluated model into its run; register it if it beats every registered version."""
    from summarizer.registry import REGISTER_REPORT, run_register

    outcome = run_register(load_params(params_file))
    if outcome.registered:
        log.info(
            "registered '%s' version %s (@challenger): %s",
            outcome.model_name,
            outcome.version,
            outcome.reason,
        )
    else:
        log.info("not registered: %s; the registry is unchanged", outcome.reason)
    log.info("decision recorded in %s and on MLflow run %s", REGISTER_REPORT, outcome.run_id)


# ----------------------------------------------------------------------------------- summarize
def _read_lines(lines: Iterable[str], source: str) -> list[tuple[dict[str, Any], str]]:
    records = []
    for number, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if not text.strip():
            raise DataError(f"{source}:{number}: empty line; expected one document per line")
        records.append(({"document": text}, text))
    return records


def _read_jsonl(lines: Iterable[str], source: str, field: str) -> list[tuple[dict[str, Any], str]]:
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # JSON Lines tolerates blank lines
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or field not in record:
            raise DataError(f"{source}:{number}: expected an object with a '{field}' field")
        document = record[field]
        if not isinstance(document, str) or not document.strip():
            raise DataError(f"{source}:{number}: '{field}' must be a non-empty string")
        records.append((record, document))
    return records


def read_documents(
    text: str | None, file: Path | None, input_format: InputFormat, field: str
) -> list[tuple[dict[str, Any], str]]:
    """(record to echo in JSON Lines output, document) pairs from the argument, file or stdin."""
    if text is not None and file is not None:
        raise DataError("give either a text argument or --file, not both")
    if text is not None:
        if not text.strip():
            raise DataError("the text to summarize is empty")
        return [({"document": text}, text)]
    if file is not None:
        if not file.is_file():
            raise DataError(f"{file}: file not found")
        source = str(file)
        handle = open(file, encoding="utf-8")  # noqa: SIM115 - closed below
        jsonl = input_format == InputFormat.jsonl or (
            input_format == InputFormat.auto and file.suffix in (".jsonl", ".ndjson")
        )
    else:
        if sys.stdin.isatty():
            raise DataError("nothing to summarize: give a text, --file, or pipe documents in")
        source, handle = "<stdin>", sys.stdin
        jsonl = input_format == InputFormat.jsonl
    try:
        records = _read_jsonl(handle, source, field) if jsonl else _read_lines(handle, source)
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: not UTF-8 text ({exc.reason})") from None
    finally:
        if handle is not sys.stdin:
            handle.close()
    if not records:
        raise DataError(f"{source}: no documents")
    return records


def _is_mlflow_uri(model: str) -> bool:
    return model.startswith(("models:/", "runs:/")) or "://" in model


def summarize_documents(
    documents: list[str], model: str, overrides: dict[str, Any], params: Params | None
) -> list[str]:
    """Summaries from a registry model (through its pyfunc) or a local model directory (through
    :class:`~summarizer.inference.Summarizer` with the evaluate stage's options)."""
    if _is_mlflow_uri(model):
        import pandas as pd
        from mlflow.exceptions import MlflowException

        from summarizer import registry

        uri = _store(params)
        registry.check_model_uri(uri, model)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        try:
            pyfunc = registry.load_model(uri, model)
        except MlflowException as exc:
            raise registry.RegistryError(f"{model}: cannot load: {exc.message}") from None
        try:
            # Only the options given on the command line: the rest are the model's own defaults.
            return pyfunc.predict(pd.DataFrame({"document": documents}), params=overrides or None)
        except MlflowException as exc:
            raise SummarizerError(f"{model}: {exc.message}") from None

    from summarizer.inference import Summarizer

    path = Path(model)
    if not path.is_dir():
        raise SummarizerError(
            f"{model}: neither a model directory nor a models:/<name>@<alias> URI"
        )
    defaults = params.evaluate.decode if params else DecodeParams()
    options = defaults.model_copy(update=overrides)
    return [summary.text for summary in Summarizer.from_dir(path).summarize(documents, options)]


def summarize(
    text: Annotated[
        str | None, typer.Argument(help="Text to summarize. Omit to read --file or stdin.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", dir_okay=False, help="One document per line, or JSON Lines."),
    ] = None,
    input_format: Annotated[
        InputFormat, typer.Option(help="auto: JSON Lines for .jsonl/.ndjson files.")
    ] = InputFormat.auto,
    field: Annotated[str, typer.Option(help="JSON Lines field holding each document.")] = (
        "document"
    ),
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="models:/<name>@<alias>, models:/<name>/<version>, or a local model directory. "
            "Default: models:/<register.model_name>@champion.",
        ),
    ] = None,
    beam_size: Annotated[int | None, typer.Option(help="1: greedy search.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Most tokens per summary.")] = None,
    min_length: Annotated[int | None, typer.Option(help="Fewest tokens per summary.")] = None,
    length_penalty: Annotated[LengthPenalty | None, typer.Option()] = None,
    alpha: Annotated[float | None, typer.Option(help="Length penalty strength.")] = None,
    no_repeat_ngram_size: Annotated[int | None, typer.Option(help="0: allow repeats.")] = None,
    replace_unk: Annotated[
        bool | None, typer.Option("--replace-unk/--keep-unk", help="Copy a source word for <unk>.")
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Summarize text from the argument, a file or stdin with a registered or local model."""
    from pydantic import ValidationError

    params = _params(params_file)
    given = {
        "beam_size": beam_size,
        "max_length": max_length,
        "min_length": min_length,
        "length_penalty": None if length_penalty is None else length_penalty.value,
        "alpha": alpha,
        "no_repeat_ngram_size": no_repeat_ngram_size,
        "replace_unk": replace_unk,
    }
    overrides = {key: value for key, value in given.items() if value is not None}
    try:  # the same bounds as params.yaml, checked before any model loads
        DecodeParams.model_validate({**DecodeParams().model_dump(), **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors()
        )
        raise SummarizerError(f"invalid decoding option: {problems}") from None

    records = read_documents(text, file, input_format, field)
    model = model or f"models:/{_model_name(None, params)}@champion"
    summaries = summarize_documents([doc for _, doc in records], model, overrides, params)
    out = sys.stdout
    for (record, _), summary in zip(records, summaries, strict=True):
        if output_format == OutputFormat.jsonl:
            out.write(json.dumps({**record, "summary": summary}, ensure_ascii=False) + "\n")
        else:
            out.write(summary + "\n")
    out.flush()


# -------------------------------------------------------------------------------------- models
def models(name: NameOption = None, params_file: ParamsOption = PARAMS_FILE) -> None:
    """List registered versions with their metrics, aliases, commit and creation time."""
    from rich.table import Table

    from summarizer import registry

    params = _params(params_file)
    model_name = _model_name(name, params)
    rows = registry.list_versions(_store(params), model_name)
    selection = getattr(getattr(params, "register_", None), "metric", None)
    metric_keys = [selection] if selection else []
    for row in rows:
        for key in (row.selection_metric, "rouge1_f", "rouge2_f", "rougeL_f"):
            if key and key not in metric_keys and key in row.metrics:
                metric_keys.append(key)
    table = Table(title=f"{model_name}: {len(rows)} version(s)")
    for column in ("version", "aliases", *metric_keys, "commit", "data", "created (UTC)", "run"):
        table.add_column(column, justify="right" if column in metric_keys else "left")
    for row in rows:
        table.add_row(
            row.version,
            " ".join(f"@{alias}" for alias in row.aliases) or "-",
            *(f"{row.metrics[k]:.2f}" if k in row.metrics else "-" for k in metric_keys),
            row.git_commit[:10],
            row.data_hash[:10],
            row.created.strftime("%Y-%m-%d %H:%M"),
            (row.run_id or "-")[:8],
        )
    Console(width=max(120, Console().width)).print(table)


# ---------------------------------------------------------------------------- promote/rollback
def _print_change(change: Any, verb: str) -> None:
    # Plain text: "[dry run]" and model output must not be read as rich markup.
    console = Console(markup=False, highlight=False)
    prefix = "[dry run] would move" if change.dry_run else verb
    before = f"version {change.previous}" if change.previous else "nothing"
    for note in change.notes:
        console.print(note)
    if change.notes and not change.changed:
        return
    console.print(
        f"{prefix} @{change.alias} of '{change.model_name}': {before} -> version {change.version}"
    )
    for check, outcome in change.checks.items():
        console.print(f"  {check}: {outcome}")
    if change.smoke_summary is not None:
        console.print(f"  smoke summary: {change.smoke_summary!r}")


def promote(
    version: Annotated[
        int | None, typer.Option("--version", help="Version to promote. Default: @challenger.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if its metric is worse.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the checks, show what would change.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why; recorded on the version.")] = "",
    name: NameOption = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Move @champion to a version that loads, summarizes and is not worse than the champion."""
    from summarizer import registry

    params = _params(params_file)
    settings = getattr(params, "register_", None)
    change = registry.promote(
        _store(params),
        _model_name(name, params),
        version,
        metric=getattr(settings, "metric", None),
        greater_is_better=getattr(settings, "greater_is_better", True),
        force=force,
        dry_run=dry_run,
        reason=reason,
    )
    _print_change(change, "moved")


def rollback(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
    reason: Annotated[str, typer.Option(help="Why; recorded on the version.")] = "",
    name: NameOption = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Move @champion back to the version it replaced."""
    from summarizer import registry

    params = _params(params_file)
    change = registry.rollback(
        _store(params), _model_name(name, params), reason=reason, dry_run=dry_run
    )
    _print_change(change, "rolled back")


COMMANDS: tuple[Callable[..., None], ...] = (register, summarize, models, promote, rollback)


def add_commands(app: typer.Typer, wrap: Callable[[F], F]) -> None:
    """Register every command here on ``app``, each wrapped by ``wrap`` (the error handler)."""
    for command in COMMANDS:
        app.command()(wrap(command))
