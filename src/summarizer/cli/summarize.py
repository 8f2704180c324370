"""``summarize``: documents from an argument, a file or stdin, summarized by a registered model
(through its pyfunc, exactly as served) or a local model directory.

Files and stdin are read by :mod:`summarizer.data.formats`, with its rules and messages: one
document per line, or JSON Lines whose records are echoed in ``--format jsonl`` output. The
decoding options are :meth:`DecodeParams.output_options` (a test checks the command offers
exactly those) and are validated by :meth:`DecodeParams.with_overrides` before any model loads.
The ones given override the model's own: a packaged model directory's ``decode.json`` (the options
it was evaluated with, so ``summarize -m models/summarizer`` from anywhere writes the evaluated
summaries), a registered model's logged options.
"""

from __future__ import annotations

import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from summarizer.cli.app import ParamsOption, command, model_name, optional_params, tracking_store
from summarizer.config.evaluation import DecodeParams, LengthPenalty
from summarizer.config.params import PARAMS_FILE, Params
from summarizer.data.formats import (
    decode_text,
    is_json_lines,
    parse_json_lines,
    read_text,
    split_lines,
    text_field,
)
from summarizer.errors import DataError, SummarizerError

# One document (with the record echoed in JSON Lines output) per input line.
Records = list[tuple[dict[str, Any], str]]


class OutputFormat(StrEnum):
    """``--format``: one summary per line, or each input record with its ``summary`` added."""

    text = "text"
    jsonl = "jsonl"


class InputFormat(StrEnum):
    """``--input-format`` of a file (stdin is read as ``lines`` unless ``jsonl`` is given)."""

    auto = "auto"  # JSON Lines for .jsonl / .ndjson / .json files, one document per line otherwise
    lines = "lines"
    jsonl = "jsonl"


def documents_from_lines(lines: list[str], source: str) -> Records:
    """One document per line; an empty line is an error (it has nothing to summarize, and
    skipping it would misalign the output with the input)."""
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(f"{source}, line {number}: empty line; expected one document per line")
        records.append(({"document": line}, line))
    return records


def documents_from_json_lines(lines: list[str], source: str, field: str) -> Records:
    """One record per line, its document in ``field`` (a string or a list of sentences)."""
    records = []
    for number, record in enumerate(parse_json_lines(lines, source), start=1):
        where = f"{source}, line {number}"
        document = text_field(record, field, where)
        if not isinstance(document, str) or not document.strip():
            raise DataError(f"{where}: field '{field}' is empty; expected a document")
        records.append((record, document))
    return records


def read_documents(
    text: str | None, file: Path | None, input_format: InputFormat, field: str
) -> Records:
    """(record to echo in JSON Lines output, document) pairs from the argument, file or stdin."""
    if text is not None and file is not None:
        raise DataError("give either a text argument or --file, not both")
    if text is not None:
        if not text.strip():
            raise DataError("the text to summarize is empty")
        return [({"document": text}, text)]
    if file is not None:
        source = str(file)
        lines = split_lines(read_text(file))
        jsonl = input_format == InputFormat.jsonl or (
            input_format == InputFormat.auto and is_json_lines(file)
        )
    else:
        if sys.stdin.isatty():
            raise DataError("nothing to summarize: give a text, --file, or pipe documents in")
        source = "<stdin>"
        lines = split_lines(decode_text(sys.stdin.buffer.read(), source))
        jsonl = input_format == InputFormat.jsonl
    if jsonl:
        records = documents_from_json_lines(lines, source, field)
    else:
        records = documents_from_lines(lines, source)
    if not records:
        raise DataError(f"{source}: no documents")
    return records


# Loading an MLflow model through MLflow runs the Python code stored with it (a pyfunc logged
# from code is a script), written by whoever could register it or write to the artifact store.
# Registry versions are read as data (weights, vocabularies, config: checked against the digest
# recorded at registration) and run with the installed code; code stored with any model runs
# only when asked for with --trust-model-code.
TRUST_FLAG = "--trust-model-code"
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: not a drive


class ModelSource(StrEnum):
    """How ``--model`` is loaded."""

    directory = "directory"  # a model directory: JSON and safely loaded weights, no code
    registry = "registry"  # models:/ in the configured registry: its files, the installed code
    mlflow = "mlflow"  # any other MLflow model: runs its code, only with --trust-model-code


def model_source(model: str, trust_model_code: bool = False) -> ModelSource:
    """Where ``model`` comes from, or an error when loading it would run code that was not
    asked for (an MLflow model outside the configured registry)."""
    if model.startswith("models:/") and not model.startswith("models://"):
        return ModelSource.registry
    if _URI_SCHEME.match(model):
        what = "an MLflow model outside the configured registry"
    elif Path(model).is_dir() and (Path(model) / "MLmodel").is_file():
        what = "an MLflow model folder, not a model directory written by train"
    elif Path(model).is_dir():
        return ModelSource.directory
    else:
        raise SummarizerError(
            f"--model {model}: neither a model directory nor a models:/<name>@<alias> URI"
        )
    if not trust_model_code:
        raise SummarizerError(
            f"--model {model}: {what}; loading it runs the Python code stored in it. Use a "
            f"model directory or models:/<name>@<alias>, or pass {TRUST_FLAG} if you trust "
            "its source"
        )
    return ModelSource.mlflow


def fallback_options(params: Params | None) -> DecodeParams:
    """What a model directory without options of its own (as train exports it) decodes with:
    ``evaluate.decode`` of the ``params.yaml`` at hand, else the defaults."""
    return params.evaluate.decode if params else DecodeParams()


def model_options(model: str | None, params: Params | None) -> DecodeParams:
    """The options ``model`` decodes with unless told otherwise, as far as they are known before
    it loads: a local model directory's own (:meth:`DecodeParams.read`); for a registered
    model, the defaults (it checks the options again against those it was logged with)."""
    if model is not None and Path(model).is_dir():
        return DecodeParams.read(model) or fallback_options(params)
    return DecodeParams()


def summarize_documents(
    documents: list[str],
    model: str,
    overrides: dict[str, Any],
    params: Params | None,
    trust_model_code: bool = False,
) -> list[str]:
    """Summaries from a registry model (its files, with the installed pyfunc code) or a local
    model directory (through :class:`~summarizer.inference.Summarizer` with the options it
    carries). ``overrides`` replace the model's own options. Only with ``trust_model_code`` does
    an MLflow model run the code stored in it."""
    if model_source(model, trust_model_code) != ModelSource.directory:
        from summarizer import registry

        # Only the options given on the command line: the rest are the model's own defaults.
        return registry.summarize_with_registered_model(
            tracking_store(params), model, documents, overrides, trust_model_code
        )

    from summarizer.inference import Summarizer

    summarizer = Summarizer.from_dir(model, fallback=fallback_options(params))
    options = summarizer.options.with_overrides(overrides)
    return [summary.text for summary in summarizer.summarize(documents, options)]


@command()
def summarize(
    text: Annotated[
        str | None, typer.Argument(help="Text to summarize. Omit to read --file or stdin.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", dir_okay=False, help="One document per line, or JSON Lines."),
    ] = None,
    input_format: Annotated[
        InputFormat, typer.Option(help="auto: JSON Lines for .jsonl/.ndjson/.json files.")
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
    trust_model_code: Annotated[
        bool,
        typer.Option(
            TRUST_FLAG,
            help="Load --model through the Python code stored with it: a registered version "
            "without a recorded digest, or an MLflow model outside the configured registry "
            "(runs:/, file://, s3://, an MLflow model folder). Without it, registered versions "
            "are read as data and run with the installed code. Only for models from a source "
            "you trust.",
        ),
    ] = False,
    # The decoding options: DecodeParams.output_options(), one option each (a test checks it).
    beam_size: Annotated[int | None, typer.Option(help="1: greedy search.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Most tokens per summary.")] = None,
    min_length: Annotated[int | None, typer.Option(help="Fewest tokens per summary.")] = None,
    length_penalty: Annotated[LengthPenalty | None, typer.Option()] = None,
    alpha: Annotated[float | None, typer.Option(help="Length penalty strength.")] = None,
    no_repeat_ngram_size: Annotated[int | None, typer.Option(help="0: allow repeats.")] = None,
    no_repeat_content_words: Annotated[
        bool | None,
        typer.Option(
            "--no-repeat-content-words/--allow-repeated-words",
            help="Say a content word once; function words, '#' and UNK may repeat.",
        ),
    ] = None,
    coverage_penalty: Annotated[
        float | None, typer.Option(help="Beam search: weight of attending twice (0: off).")
    ] = None,
    replace_unk: Annotated[
        bool | None, typer.Option("--replace-unk/--keep-unk", help="Copy a source word for <unk>.")
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Summarize text from the argument, a file or stdin with a registered or local model."""
    # The decoding options are the parameters named as in DecodeParams; the ones given override
    # the model's own, checked against the bounds of params.yaml before any model loads.
    arguments = locals()
    params = optional_params(params_file)
    overrides = {
        name: arguments[name]
        for name in DecodeParams.output_options()
        if arguments[name] is not None
    }
    model_options(model, params).with_overrides(overrides)

    model = model or f"models:/{model_name(None, params)}@champion"
    records = read_documents(text, file, input_format, field)
    summaries = summarize_documents(
        [doc for _, doc in records], model, overrides, params, trust_model_code
    )
    out = sys.stdout
    for (record, _), summary in zip(records, summaries, strict=True):
        if output_format == OutputFormat.jsonl:
            out.write(json.dumps({**record, "summary": summary}, ensure_ascii=False) + "\n")
        else:
            out.write(summary + "\n")
    out.flush()
