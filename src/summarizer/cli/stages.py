"""One command per DVC stage: ``ingest`` .. ``register``. Each calls ``run`` of its stage module
(:mod:`summarizer.stages`) and says what it did."""

from __future__ import annotations

import typer

from summarizer.cli.app import ParamsOption, command, err_console, log
from summarizer.config.data import DataStageParams
from summarizer.config.document import read_params
from summarizer.config.params import PARAMS_FILE, load_params
from summarizer.config.paths import Paths


@command()
def ingest(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Read the raw dataset into one canonical Parquet table per split."""
    from summarizer.stages.ingest import run as run_ingest

    report = run_ingest(load_params(params_file))
    log.info("ingested '%s' into %s", report["dataset"], Paths.interim)


@command()
def validate(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Check every split against the Great Expectations suite; fail on what must stop the run."""
    from summarizer.stages.validate import run as run_validate

    report = run_validate(read_params(params_file, DataStageParams))
    findings = " with findings (reported above)" if report.failures else ""
    log.info("validation passed%s; data docs in %s", findings, Paths.validation_docs)


@command()
def tokenize(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Tokenize every split with spaCy into token sequences."""
    from summarizer.stages.tokenize import run as run_tokenize

    counts = run_tokenize(read_params(params_file, DataStageParams))
    log.info("tokenized %s into %s", counts, Paths.processed)


@command()
def vocab(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Build source and target vocabularies from the training split."""
    from summarizer.stages.vocab import run as run_build_vocab

    metrics = run_build_vocab(read_params(params_file, DataStageParams))
    for side in ("source", "target"):
        log.info(
            "%s vocabulary: %d tokens, validation OOV rate %.2f%%",
            side,
            metrics[side]["size"],
            100 * metrics[side]["validation_oov_rate"],
        )


@command()
def train(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Train the seq2seq model (resumes an interrupted run), tracked in MLflow."""
    from summarizer.config.training import TrainingStageParams
    from summarizer.stages.train import run as run_train
    from summarizer.training import TrainingInterrupted, distributed

    params = read_params(params_file, TrainingStageParams)
    # train.nproc > 1: this process becomes torchrun, whose workers run this command again.
    distributed.relaunch(params.train.nproc, ["train", "--params", str(params_file)])
    try:
        run_train(params)
    except TrainingInterrupted as exc:
        err_console.print(f"[bold yellow]stopped:[/] {exc}")
        raise typer.Exit(code=128 + exc.signum) from None
    finally:
        distributed.teardown()


@command()
def package(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Copy the trained model to models/summarizer with the decoding options evaluate.decode."""
    from summarizer.config.evaluation import PackageStageParams
    from summarizer.stages.package import run as run_package

    target = run_package(read_params(params_file, PackageStageParams))
    log.info("packaged %s as %s, decoding with evaluate.decode", Paths.trained_model, target)


@command()
def evaluate(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Decode the test split, score it with ROUGE beside the baseline, write reports."""
    from summarizer.config.evaluation import EvaluationStageParams
    from summarizer.stages.evaluate import run as run_evaluate

    run_evaluate(read_params(params_file, EvaluationStageParams))


@command()
def register(params_file: ParamsOption = PARAMS_FILE) -> None:
    """Log the evaluated model into its run; register it if it beats every registered version."""
    from summarizer.stages.register import run as run_register

    outcome = run_register(load_params(params_file))
    for version, verdict in outcome.finished.items():
        log.info("re-checked pending version %s (interrupted or concurrent): %s", version, verdict)
    if outcome.registered:
        # A version registered at the same moment may hold @challenger instead (see the report).
        holder = f"@challenger: version {outcome.challenger}" if outcome.challenger else "no alias"
        log.info(
            "registered '%s' version %s (%s): %s",
            outcome.model_name,
            outcome.version,
            holder,
            outcome.reason,
        )
    else:
        log.info("not registered: %s", outcome.reason)
    log.info("decision recorded in %s and on MLflow run %s", Paths.register_report, outcome.run_id)
