"""A small real model and a throw-away SQLite-backed MLflow store for registry and serving tests.

The model is trained for a few steps on the first real Gigaword pairs, so it loads, decodes and
serves exactly like a pipeline-trained one, only badly. Each test gets its own MLflow store in a
temporary directory (``MLFLOW_TRACKING_URI`` points there), so tests never see each other's
registered versions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from summarizer.config.data import TokenizeParams, VocabParams
from summarizer.config.evaluation import DecodeParams
from summarizer.config.training import ModelParams, TrainParams
from tests.conftest import DATASETS

# Progress bars for artifacts copied between temporary directories are noise in test logs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

TOKENIZE = TokenizeParams(max_source_len=30, max_target_len=12, mask_digits=True)
TINY_MODEL = ModelParams(emb_dim=24, hidden_dim=32, enc_layers=1, dec_layers=1, dropout=0.0)
# Cheap decoding keeps the tests fast; beam search is still exercised (beam_size > 1), and a
# minimum length keeps a barely trained model from answering with empty summaries.
DECODE = DecodeParams(beam_size=2, max_length=8, min_length=2, no_repeat_ngram_size=2)
MODEL_NAME = "summarizer-test"
STARTUP_TIMEOUT = 180  # seconds; importing torch, spaCy and MLflow on a busy 2-core machine


def gigaword_documents(count: int, split: str = "test") -> list[str]:
    with open(DATASETS / "gigaword" / f"{split}.article.txt", encoding="utf-8") as handle:
        return [next(handle).strip() for _ in range(count)]


def train_tiny_model(target: Path, pairs: int = 64, epochs: int = 20, seed: int = 0) -> Path:
    """Overfit a tiny seq2seq on a few real pairs (seconds on a CPU) and save it as the train
    stage does; overfitting is what makes its summaries differ from one document to the next."""
    from summarizer.batching import EncodedPairs
    from summarizer.data.tokenization import TextProcessor
    from summarizer.data.vocab import Vocab
    from summarizer.model_io import save_model_dir
    from summarizer.training import build_trainer, model_config

    root = DATASETS / "gigaword"
    with open(root / "train.article.txt") as docs, open(root / "train.title.txt") as titles:
        documents = [next(docs) for _ in range(pairs)]
        summaries = [next(titles) for _ in range(pairs)]
    processor = TextProcessor(TOKENIZE)
    sources = processor.tokenize_source(documents)
    targets = processor.tokenize_target(summaries)
    vocab_params = VocabParams(min_freq=1, max_size=1500)
    src_vocab = Vocab.build(sources, vocab_params)
    tgt_vocab = Vocab.build(targets, vocab_params)
    encoded = EncodedPairs.from_tokens(sources, targets, src_vocab, tgt_vocab)
    config = model_config(TINY_MODEL, len(src_vocab), len(tgt_vocab))
    params = TrainParams(
        device="cpu",
        max_epochs=epochs,
        early_stopping_patience=epochs,
        batch_tokens=800,
        max_batch_size=32,
        warmup_steps=2,
        checkpoint_every_steps=0,
        lr=0.01,
        seed=seed,
        threads=1,
    )
    trainer = build_trainer(params, config)  # no checkpoint store: the last weights are saved below
    trainer.fit(encoded, encoded.subset(32))
    meta = {"best_epoch": trainer.early_stopper.best_epoch, "data_hash": f"tiny-{pairs}-{seed}"}
    save_model_dir(target, trainer.model.state_dict(), config, TOKENIZE, src_vocab, tgt_vocab, meta)
    return target


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, datasets_dir: Path) -> Path:
    return train_tiny_model(tmp_path_factory.mktemp("tiny") / "summarizer")


@dataclass
class Store:
    """One isolated MLflow tracking + registry store."""

    root: Path
    uri: str

    def new_run(self, experiment: str = "tests", tags: dict[str, str] | None = None) -> str:
        from summarizer import tracking_runs

        run = tracking_runs.TrackedRun.start(self.uri, experiment, tags=tags or {})
        run.end()
        return run.run_id

    def client(self):
        from summarizer import tracking

        return tracking.client(self.uri)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # The environment variable is what the CLI and any subprocess resolve the store from.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    previous = mlflow.get_tracking_uri()
    yield Store(tmp_path, uri)
    mlflow.set_tracking_uri(previous)
    mlflow.set_registry_uri(previous)


def write_evaluation_report(path: Path, **test_metrics: float) -> Path:
    """A reports/evaluation.json as the evaluate stage writes it (the parts register reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"test": {**test_metrics, "n_examples": 50}}) + "\n")
    return path


# reports/evaluation.json beside "test" as the register stage reads it: a low lead-8 baseline and
# the default model's degeneracy checks. A version registered with it stores what the gate
# measured, which promote checks again.
GATE_EVALUATION = {
    "baseline_lead_words_8": {"rougeL_f": 10.0, "n_examples": 50},
    "checks": {
        "distinct_prediction_share": 0.985,
        "repeated_trigram_rate": 0.00013,
        "empty_prediction_share": 0.0,
    },
}


def register_run(
    store: Store, model_dir: Path, value: float, report: Path | None = None, **tags: str
) -> Any:
    """A finished training run scored ``value`` (test ROUGE-L F1), through the register stage
    as the pipeline runs it (with an evaluation report: a baseline of 10 and passing checks)."""
    from summarizer import registry
    from summarizer.config.registry import RegisterParams
    from summarizer.evaluation.report import EvaluationReport

    run_id = store.new_run(tags={"git_commit": "c0ffee" * 6, "data_hash": "d474" * 8, **tags})
    return registry.log_and_register(
        uri=store.uri,
        run_id=run_id,
        settings=RegisterParams(model_name=MODEL_NAME),
        model_dir=model_dir,
        test_metrics={"rouge1_f": value + 8, "rougeL_f": value, "rougeL_f_low": value - 1},
        decode=DECODE,
        report=report,
        evaluation=EvaluationReport.from_dict(GATE_EVALUATION),
    )


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Store]:
    """A store whose model has one version, registered by the stage and promoted to @champion;
    shared by the tests of one module because logging and loading a model takes seconds."""
    import mlflow

    from summarizer import registry

    root = tmp_path_factory.mktemp("champion")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("MLFLOW_REGISTRY_URI", uri)
        store = Store(root, uri)
        register_run(store, model_dir, 20.0)
        registry.promote(uri, MODEL_NAME, reason="test fixture")
        yield store
    mlflow.set_tracking_uri(previous)
    mlflow.set_registry_uri(previous)


def write_params(path: Path) -> Path:
    """The repository's params.yaml with the test model's name and decoding options."""
    import yaml

    from tests.conftest import REPO_ROOT

    raw = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw["evaluate"]["decode"] = DECODE.model_dump()
    raw.setdefault("register", {})["model_name"] = MODEL_NAME
    raw["tracking"]["uri"] = None
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def wait_until_up(process: subprocess.Popen, url: str, log_file: Path, what: str) -> None:
    """Poll ``url`` until it answers 200, failing with the server's log if ``process`` exits or
    :data:`STARTUP_TIMEOUT` passes."""
    import requests

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited early:\n{log_file.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not up after {STARTUP_TIMEOUT}s:\n{log_file.read_text()}")
        time.sleep(0.5)


def stop_process_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a server started with ``start_new_session=True`` and every worker it forked:
    SIGTERM to its process group, SIGKILL if it has not exited within ``timeout`` seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass  # already gone
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
