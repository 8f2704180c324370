"""train, package and evaluate through a real ``dvc repro`` with tiny params, tracked in a real
SQLite MLflow store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace

pytestmark = pytest.mark.slow

TINY = {
    "model": {"emb_dim": 32, "hidden_dim": 64, "dropout": 0.1},
    "train": {"max_epochs": 2, "batch_tokens": 1500, "warmup_steps": 5, "threads": 1},
    "evaluate": {
        "max_test_examples": 25,
        "attention_examples": 2,
        "decode": {"beam_size": 3, "max_length": 12},
        "scoring": {"bootstrap_samples": 50},
    },
    "tracking": {"experiment": "pipeline-test", "log_system_metrics": False},
}


HEADLINE = {
    "test_rouge1",
    "test_rouge2",
    "test_rougeL",
    "test_rougeLsum",
    "test_rouge1_low",
    "test_rouge1_high",
    "test_rouge2_low",
    "test_rouge2_high",
    "test_rougeL_low",
    "test_rougeL_high",
    "baseline_rouge1",
    "baseline_rougeL",
    "distinct_share",
    "empty_share",
    "repeated_trigram_rate",
    "repeated_word_share",
    "reference_repeated_word_share",
    "best_val_nll",
    "train_tokens_per_second",
    "train_seconds",
    "decode_examples_per_second",
    "test_examples",
}


@pytest.fixture
def workspace(tmp_path: Path, datasets_dir: Path) -> Workspace:
    raw = write_gigaword_slice(tmp_path / "raw" / "gigaword", train_pairs=300, test_pairs=40)
    return Workspace.create(tmp_path / "repo", params={"dataset": {"path": str(raw)}, **TINY})


def test_train_and_evaluate_are_tracked_in_one_mlflow_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    (tmp_path / "store").mkdir()
    result = workspace.dvc("repro", "evaluate", env={"MLFLOW_TRACKING_URI": uri})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    root = workspace.root

    trained, model_dir = root / "models" / "trained", root / "models" / "summarizer"
    model_files = {"model.pt", "config.json", "tokenizer.json", "vocab", "meta.json"}
    assert {p.name for p in trained.iterdir()} == model_files  # no decoding options: package's
    assert {p.name for p in model_dir.iterdir()} == model_files | {"decode.json"}
    assert (model_dir / "model.pt").read_bytes() == (trained / "model.pt").read_bytes()
    decode = json.loads((model_dir / "decode.json").read_text())
    assert decode == {**workspace.params["evaluate"]["decode"], "beam_size": 3, "max_length": 12}
    history = (root / "reports" / "train_history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,train_loss,val_loss")
    assert len(history) == 3  # header + 2 epochs
    evaluation = json.loads((root / "reports" / "evaluation.json").read_text())
    assert evaluation["test"]["n_examples"] == 25
    assert "rougeLsum_f_low" in evaluation["test"]
    assert evaluation["baseline_lead_words_8"]["rouge1_f"] > 10
    assert evaluation["duc2004"]["model"]["n_examples"] == 500
    assert 0 <= evaluation["checks"]["distinct_prediction_share"] <= 1
    # The DVC metrics are the headline numbers alone, the same as the run's.
    headline = json.loads((root / "reports" / "metrics.json").read_text())
    assert set(headline) == HEADLINE
    assert headline["test_rougeL"] == evaluation["test"]["rougeL_f"]
    assert headline["test_examples"] == 25
    shown = json.loads(workspace.dvc("metrics", "show", "--json").stdout)
    assert list(shown[""]["data"]) == ["reports/metrics.json"]
    predictions = (root / "reports" / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 25
    assert {"id", "document", "reference", "prediction", "rouge"} <= set(json.loads(predictions[0]))
    assert len(list((root / "reports" / "attention").glob("*.png"))) <= 2

    run_id = json.loads((root / "models" / "mlflow_run.json").read_text())["run_id"]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert re.fullmatch(r"gigaword-e32h64-copy-cov-[0-9a-f]{7}", run.info.run_name)
    assert run.data.params["model.hidden_dim"] == "64"
    assert run.data.params["train.max_epochs"] == "2"
    # Paths and store settings differ between machines, not between experiments.
    assert not any(k.startswith(("dataset.path", "tracking.", "serve.")) for k in run.data.params)
    assert run.data.tags["dataset"] == "gigaword"
    # Without it MLflow 3's UI opens the experiment on a GenAI overview instead of its runs.
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert run.data.tags["git_dirty"] in ("True", "False")
    assert len(run.data.tags["data_hash"]) == 64
    val_history = client.get_metric_history(run_id, "val_loss")
    assert [m.step for m in val_history] == [1, 2]
    assert set(run.data.metrics) == HEADLINE | {"train_loss", "val_loss", "val_nll"}
    assert run.data.metrics["test_rougeL"] == headline["test_rougeL"]
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"model", "training", "evaluation"} <= artifacts
    training = {a.path for a in client.list_artifacts(run_id, "training")}
    assert "training/train_history.png" in training

    again = workspace.dvc("repro", "evaluate", env={"MLFLOW_TRACKING_URI": uri})
    assert again.returncode == 0
    assert "Running stage" not in again.stdout

    # Other decoding options on the same training: a run of its own, the first one's scores kept.
    workspace.update_params({"evaluate": {"decode": {"beam_size": 1}}})
    greedy = workspace.dvc("repro", "evaluate", env={"MLFLOW_TRACKING_URI": uri})
    assert greedy.returncode == 0, greedy.stdout[-3000:] + greedy.stderr[-3000:]
    assert "Running stage 'train'" not in greedy.stdout
    assert "Running stage 'package'" in greedy.stdout
    assert json.loads((model_dir / "decode.json").read_text())["beam_size"] == 1
    evaluated = json.loads((root / "reports" / "evaluation.json").read_text())["run_id"]
    assert evaluated != run_id
    first, second = client.get_run(run_id), client.get_run(evaluated)
    assert first.data.metrics["test_rougeL"] == headline["test_rougeL"]
    assert first.data.params["evaluate.decode.beam_size"] == "3"
    assert second.data.params["evaluate.decode.beam_size"] == "1"
    assert second.data.params["model.hidden_dim"] == "64"
    assert second.data.tags["training_run"] == run_id
    assert second.data.tags["data_hash"] == first.data.tags["data_hash"]
    assert second.info.run_name.startswith(first.info.run_name + "-eval-")
    assert second.info.status == "FINISHED"
    assert set(second.data.metrics) == HEADLINE

    # Registered from that re-evaluation, the model's card holds the re-evaluation's numbers.
    registered = workspace.dvc("repro", "register", env={"MLFLOW_TRACKING_URI": uri})
    assert registered.returncode == 0, registered.stdout[-3000:] + registered.stderr[-3000:]
    outcome = json.loads((root / "reports" / "register.json").read_text())
    assert outcome["run_id"] == evaluated
    card = workspace.run(
        "summarizer", "card", outcome["model_uri"], env={"MLFLOW_TRACKING_URI": uri}
    )
    assert card.returncode == 0, card.stderr[-3000:]
    greedy_test = json.loads((root / "reports" / "evaluation.json").read_text())["test"]
    assert f"| ROUGE-L (ranks versions) | {greedy_test['rougeL_f']:.2f} |" in card.stdout
    assert "beam_size 1" in card.stdout and f"MLflow run** | `{evaluated}`" in card.stdout
    # The served defaults went into the model, not among the run's params.
    params_after = client.get_run(evaluated).data.params
    assert params_after == second.data.params, set(params_after) ^ set(second.data.params)

    # What cannot change the model does not re-train it: a comment in the validation suite, the
    # registry's gate or the serving config, and another experiment to record into.
    for module in ("data/validation.py", "registry/gate.py", "config/serving.py"):
        with (root / "src" / "summarizer" / module).open("a", encoding="utf-8") as source:
            source.write("# a harmless edit\n")
    workspace.update_params({"tracking": {"experiment": "another-experiment"}})
    status = workspace.dvc("status", "--json")
    assert status.returncode == 0, status.stderr[-2000:]
    changed = json.loads(status.stdout)
    assert {"validate", "register"} <= set(changed), changed  # the edits were seen
    assert "train" not in changed, changed["train"]


def test_unreachable_tracking_store_fails_before_training(workspace: Workspace) -> None:
    result = workspace.dvc("repro", "train", env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9/"})
    assert result.returncode != 0
    assert "http://127.0.0.1:9/" in result.stderr and "cannot be reached" in result.stderr
    assert not (workspace.root / "models" / "checkpoints" / "last.pt").exists()


def summarize_elsewhere(
    workspace: Workspace, elsewhere: Path, documents: list[str], *options: str
) -> subprocess.CompletedProcess[str]:
    """``summarizer summarize -m <project>/models/summarizer -f docs.txt`` run from a directory
    outside the project, without a params.yaml: the model directory alone decides."""
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / "docs.txt").write_text("".join(d + "\n" for d in documents), encoding="utf-8")
    command = str(Path(sys.executable).parent / "summarizer")
    model = str(workspace.root / "models" / "summarizer")
    return subprocess.run(
        [command, "summarize", "-m", model, "-f", "docs.txt", *options],
        cwd=elsewhere,
        env=workspace.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_packaged_model_summarizes_anywhere_as_evaluate_did(
    workspace: Workspace, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Options far from the defaults, so that decoding with anything but the model directory's
    # own would show: every summary exactly 5 tokens, a narrow beam, no UNK replacement.
    decode = {"beam_size": 2, "min_length": 5, "max_length": 5, "replace_unk": False}
    workspace.update_params({"evaluate": {"decode": decode}})
    result = workspace.dvc("repro", "evaluate", env={"MLFLOW_TRACKING_URI": uri})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = (workspace.root / "reports" / "predictions.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    documents = [record["document"] for record in records]
    evaluated = [record["prediction"] for record in records]
    assert len(set(evaluated)) > 1, "the tiny model should not summarize all alike"

    elsewhere = tmp_path / "elsewhere"
    same = summarize_elsewhere(workspace, elsewhere, documents)
    assert same.returncode == 0, same.stderr[-3000:]
    assert same.stdout.splitlines() == evaluated

    # The command line's options still override the directory's, checked against them.
    shorter = summarize_elsewhere(workspace, elsewhere, documents, "--max-length", "2")
    assert shorter.returncode == 1
    assert "min_length (5) must not exceed max_length (2)" in " ".join(shorter.stderr.split())
    shorter = summarize_elsewhere(
        workspace, elsewhere, documents, "--min-length", "0", "--max-length", "2"
    )
    assert shorter.returncode == 0, shorter.stderr[-3000:]
    summaries = shorter.stdout.splitlines()
    assert len(summaries) == len(evaluated) and summaries != evaluated
    assert all(len(summary.split()) <= 2 for summary in summaries)
