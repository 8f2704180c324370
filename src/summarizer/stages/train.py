"""Stage ``train``: load the tokenized splits, build the trainer, fit, export the best model, and
log it all to an MLflow run that an interrupted training resumes."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.batching import EncodedPairs, check_batch_budget
from summarizer.config.paths import Paths
from summarizer.config.training import TrainingStageParams
from summarizer.data.vocab import Vocab
from summarizer.io import (
    WriteError,
    atomic_directory,
    atomic_path,
    hash_files,
    read_stage_table,
    write_json,
)
from summarizer.stages import run_handoff
from summarizer.stages.train_identity import fingerprint, run_name
from summarizer.stages.train_metrics import TRAINING
from summarizer.training import build, distributed
from summarizer.training.build import model_config
from summarizer.training.checkpoints import CheckpointStore
from summarizer.training.device import precision_name
from summarizer.training.early_stopping import EarlyStopper
from summarizer.training.history import write_history
from summarizer.training.interrupts import TrainingDiverged
from summarizer.training.progress import EpochRecord, Progress
from summarizer.training.trainer import Trainer

if TYPE_CHECKING:
    from summarizer.tracking_runs import TrackedRun

log = logging.getLogger(__name__)

# The curves worth a chart in the MLflow run; the rest of the history (learning rate,
# throughput, teacher forcing per epoch) is its train_history.csv artifact and `dvc plots`.
EPOCH_SERIES = ("train_loss", "val_loss", "val_nll")
# What the training run records as params; evaluate adds its own (TrackedRun.for_evaluation).
TRAINING_SECTIONS = ("dataset", "ingest", "validate", "tokenize", "vocab", "model", "train")


def load_pairs(
    split: str, src_vocab: Vocab, tgt_vocab: Vocab, extended: bool = False
) -> EncodedPairs:
    """The tokenized ``split`` (written by ``tokenize``) as ids of the two vocabularies, and
    with ``extended`` also in the extended vocabulary a copy model writes in."""
    table = read_stage_table(Paths.processed_split(split), "tokenize", ["source", "target"])
    return EncodedPairs.from_tokens(
        table["source"].tolist(), table["target"].tolist(), src_vocab, tgt_vocab, extended
    )


@dataclass
class TrainingData:
    """What the stage trains on, and the digest of the files it came from."""

    train: EncodedPairs
    validation: EncodedPairs
    src_vocab: Vocab
    tgt_vocab: Vocab
    data_hash: str

    @classmethod
    def load(cls, params: TrainingStageParams) -> TrainingData:
        """The train and validation splits and vocabularies the earlier stages wrote (train cut
        to ``train.max_train_examples`` when set)."""
        src_vocab = Vocab.load(Paths.vocab_file("source"))
        tgt_vocab = Vocab.load(Paths.vocab_file("target"))
        copy = params.model.copy
        train = load_pairs("train", src_vocab, tgt_vocab, extended=copy)
        validation = load_pairs("validation", src_vocab, tgt_vocab, extended=copy)
        if params.train.max_train_examples is not None:
            train = train.subset(params.train.max_train_examples)
        data_hash = hash_files(
            [Paths.processed_split("train"), Paths.processed_split("validation"), Paths.vocab_dir]
        )
        return cls(train, validation, src_vocab, tgt_vocab, data_hash)


def build_trainer(
    params: TrainingStageParams, data: TrainingData, store: CheckpointStore
) -> Trainer:
    """The trainer of the stage, saving to and resuming from ``store``."""
    config = model_config(params.model, len(data.src_vocab), len(data.tgt_vocab))
    return build.build_trainer(
        params.train,
        config,
        checkpoints=store,
        early_stopper=EarlyStopper(params.train.early_stopping_patience),
        reporter=distributed.reporter(),
    )


def run(params: TrainingStageParams) -> dict[str, Any]:
    """Stage ``train``: fit the model, track it in MLflow, export the best weights to
    ``models/trained`` (``package`` adds the decoding options); returns the metrics written to
    ``reports/train_metrics.json``.

    An interrupted run (its checkpoint: same params and data) is resumed into the same MLflow
    run; a signal raises :class:`TrainingInterrupted` after saving a checkpoint. Under torchrun
    every rank trains and rank 0 alone tracks and writes.

    Nothing the last good run left is replaced before this run has a best epoch (its
    checkpoints: :class:`CheckpointStore`), and its model, reports and run record only when
    this run has finished: together, or not at all (:func:`export`). The MLflow run never stays
    RUNNING: FINISHED, FAILED (a diverged loss, a full disk, any error) or KILLED (a signal).
    """
    from summarizer import run_ownership, tracking, tracking_runs

    main = distributed.is_main()
    uri = tracking.tracking_uri(params.tracking.uri)
    if main:
        tracking.ensure_reachable(uri)  # before an hour of training, not after
        run_ownership.close_abandoned_runs(uri, params.tracking.experiment)

    data = TrainingData.load(params)
    # Before the checkpoint store, the trainer and the run exist: a bad budget writes nothing.
    check_batch_budget(data.train, params.train.batch_tokens)
    configuration = fingerprint(params, data.data_hash)
    store = CheckpointStore(Paths.checkpoints, configuration)
    trainer = build_trainer(params, data, store)
    if not main:
        started = time.perf_counter()
        progress = trainer.fit(data.train, data.validation)  # resumes what rank 0 resumes
        return summarize(trainer, progress, time.perf_counter() - started)
    log.info(
        "training %s parameters on %s (%s) with %d pairs, validating on %d",
        f"{trainer.model.num_parameters():,}",
        trainer.device,
        precision_name(trainer.autocast_dtype),
        len(data.train),
        len(data.validation),
    )

    store.discard_partial_writes()  # of a run killed while it saved (kill -9)
    previous_run = run_handoff.run_to_resume(store.resumable_metadata())
    run = tracking_runs.TrackedRun.start(
        uri,
        params.tracking.experiment,
        run_id=previous_run,
        params=params.to_tracked_dict(*TRAINING_SECTIONS),
        tags={
            **tracking.git_tags(),
            "data_hash": data.data_hash,
            "dataset": params.dataset.name,
            "precision": precision_name(trainer.autocast_dtype),
        },
        run_name=run_name(params, configuration),
    )
    run_handoff.remember_for_resume(store.metadata, run)
    if previous_run is None:
        store.start_fresh()  # resumes nothing; keeps the last good run's files for now

    with run.closing():
        try:
            started = time.perf_counter()
            progress = fit(trainer, run, data, params.tracking.log_system_metrics)
            metrics = summarize(trainer, progress, time.perf_counter() - started)
            export(trainer, store, params, data, metrics, run)
        except WriteError as exc:
            exc.kept = what_was_kept(store)
            raise
        except TrainingDiverged as exc:
            raise TrainingDiverged(f"{exc}; nothing was replaced: {what_was_kept(store)}") from None
    log.info(
        "best epoch %d: validation loss %.4f; model in %s (MLflow run %s)",
        trainer.early_stopper.best_epoch,
        trainer.early_stopper.best_value,
        Paths.trained_model,
        run.run_id,
    )
    return metrics


def what_was_kept(store: CheckpointStore) -> str:
    """What of the last good run a failed run left in place, for its error message."""
    outputs = f"{Paths.trained_model}, {Paths.train_run} and the train reports"
    if Paths.trained_model.is_dir():
        kept = f"{outputs} are the last good run's"
    else:  # deleted by `dvc repro` before it ran the stage; DVC has them cached
        kept = f"{outputs} were not written (`dvc checkout train` restores the last good ones)"
    if store.current == store.pending:
        return f"{kept}, and so are {store.last} and {store.best.name}"
    if store.best.is_file():  # this run had a best epoch: the checkpoints are its own now
        return f"{kept}; {store.last} and {store.best.name} are this run's"
    return kept


def fit(trainer: Trainer, run: TrackedRun, data: TrainingData, system_metrics: bool) -> Progress:
    """Train, logging every epoch's record to ``run``."""

    def on_epoch_end(record: EpochRecord) -> None:
        values = asdict(record)
        run.log_metrics({name: values[name] for name in EPOCH_SERIES}, step=record.epoch)

    with run.system_metrics(system_metrics):
        return trainer.fit(data.train, data.validation, on_epoch_end=on_epoch_end)


def summarize(trainer: Trainer, progress: Progress, seconds: float) -> dict[str, Any]:
    """The stage's metrics (``reports/train_metrics.json``) of a finished fit."""
    history = progress.history
    best_epoch = trainer.early_stopper.best_epoch
    best_record = next(r for r in history if r["epoch"] == best_epoch)
    return {
        "best_epoch": best_epoch,
        "epochs": len(history),
        "best_val_loss": round(trainer.early_stopper.best_value, 5),
        "best_val_nll": round(best_record["val_nll"], 5),
        "best_val_perplexity": round(best_record["val_perplexity"], 3),
        "first_epoch_val_loss": round(history[0]["val_loss"], 5),
        "final_train_loss": round(history[-1]["train_loss"], 5),
        "tokens_per_second": round(sum(r["tokens_per_second"] for r in history) / len(history), 1),
        "train_seconds": round(seconds, 1),
        "parameters": trainer.model.num_parameters(),
        "device": str(trainer.device),
        "precision": precision_name(trainer.autocast_dtype),
    }


def export(
    trainer: Trainer,
    store: CheckpointStore,
    params: TrainingStageParams,
    data: TrainingData,
    metrics: dict[str, Any],
    run: TrackedRun,
) -> None:
    """Write the weights of ``store``'s best checkpoint as ``models/trained``, the stage's
    reports and ``models/mlflow_run.json``, and log them into ``run``, which ends FINISHED.

    All or nothing: each file is written beside its target and the run is logged from there;
    only then are they renamed over the previous run's, so a full disk or a store that fails
    leaves every one of them as it was.
    """
    from summarizer.model_io import save_model_dir  # imports spaCy, which the loop never needs

    best = store.load_best()
    meta = {**metrics, "data_hash": data.data_hash, "run_id": run.run_id}
    meta["dataset"] = params.dataset.name
    with ExitStack() as outputs:
        files = (
            Paths.train_run,
            Paths.train_metrics,
            Paths.train_history,
            Paths.train_history_plot,
        )
        staged = {path: outputs.enter_context(atomic_path(path)) for path in files}
        model_dir = outputs.enter_context(atomic_directory(Paths.trained_model))
        save_model_dir(
            model_dir,
            best["model"],
            trainer.config,
            params.tokenize,
            data.src_vocab,
            data.tgt_vocab,
            meta,
        )
        write_history(
            trainer.progress.history, staged[Paths.train_history], staged[Paths.train_history_plot]
        )
        write_json(staged[Paths.train_metrics], metrics)
        run_handoff.record_training_run(staged[Paths.train_run], run, params.tracking.experiment)
        log_to_run(
            run, metrics, model_dir, staged[Paths.train_history], staged[Paths.train_history_plot]
        )


def log_to_run(
    run: TrackedRun,
    metrics: dict[str, Any],
    model_dir: Path = Paths.trained_model,
    history: Path = Paths.train_history,
    plot: Path = Paths.train_history_plot,
) -> None:
    """The final metrics, the model's config and vocabularies and the history into ``run``,
    which then ends FINISHED."""
    # Under their headline names: evaluate logs the same values again beside test ROUGE.
    run.log_metrics({name: metrics[key] for key, name in TRAINING.items()})
    run.log_artifact(model_dir / "config.json", "model")
    run.log_artifact(model_dir / "vocab", "model/vocab")
    run.log_artifact(history, "training")
    run.log_artifact(plot, "training")
    run.end("FINISHED")
