"""The user's journey in a throw-away copy of the project: ``dvc repro`` with tiny params (down to
the register stage), ``summarizer promote``, then summaries over HTTP from ``mlflow models serve``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace
from tests.service.conftest import stop_process_group
from tests.service.test_serving import free_port

pytestmark = pytest.mark.slow

TINY = {
    "validate": {"document_length": {"min": 1, "max": 200}},
    "tokenize": {"max_source_len": 30, "max_target_len": 12},
    "vocab": {"min_freq": 1, "max_size": 3000},
    "model": {"emb_dim": 32, "hidden_dim": 48, "dropout": 0.0},
    "train": {
        "device": "cpu",
        "max_epochs": 12,
        "early_stopping_patience": 12,
        "lr": 0.01,
        "batch_tokens": 1500,
        "warmup_steps": 5,
        "checkpoint_every_steps": 0,
    },
    "tracking": {"experiment": "e2e", "log_system_metrics": False},
    "evaluate": {
        # min_length: a two-epoch model must still say something for the smoke test.
        "decode": {"beam_size": 2, "max_length": 8, "min_length": 2, "no_repeat_ngram_size": 1},
        "scoring": {"bootstrap_samples": 0},
        "attention_examples": 1,
        "extra_test_sets": {},
    },
    "register": {
        "model_name": "e2e-summarizer",
        "require_beat_baseline": False,
    },
}


def test_repro_promote_and_serve(
    tmp_path: Path, datasets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workspace's own embedded store (sqlite:///<workspace>/mlflow.db), as for a user who
    # has set nothing.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    raw = write_gigaword_slice(tmp_path / "raw" / "gigaword", train_pairs=400, test_pairs=20)
    workspace = Workspace.create(tmp_path / "repo", params={**TINY, "dataset": {"path": str(raw)}})
    repro = workspace.dvc("repro", timeout=1200)
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:]
    assert "Running stage 'register'" in repro.stdout
    report = json.loads((workspace.root / "reports" / "register.json").read_text())
    assert report["registered"] is True and report["version"] == "1"
    assert (workspace.root / "mlflow.db").is_file()

    promoted = workspace.run("summarizer", "promote", "--reason", "first model")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "moved @champion of 'e2e-summarizer': nothing -> version 1" in promoted.stdout

    listing = workspace.run("summarizer", "models")
    assert listing.returncode == 0, listing.stderr
    assert "@champion" in listing.stdout and "@challenger" in listing.stdout

    # The champion's card holds the numbers of the evaluation it was registered from.
    card = workspace.run("summarizer", "card")
    assert card.returncode == 0, card.stderr
    evaluation = json.loads((workspace.root / "reports" / "evaluation.json").read_text())
    header = yaml.safe_load(card.stdout.split("---\n")[1])
    shown = {m["name"]: m["value"] for m in header["model-index"][0]["results"][0]["metrics"]}
    test = evaluation["test"]
    assert shown == {
        "ROUGE-1": test["rouge1_f"],
        "ROUGE-2": test["rouge2_f"],
        "ROUGE-L": test["rougeL_f"],
        "ROUGE-Lsum": test["rougeLsum_f"],
    }
    baseline = evaluation["baseline_lead_words_8"]["rougeL_f"]
    assert f"| ROUGE-L (ranks versions) | {test['rougeL_f']:.2f} |" in card.stdout
    assert f"| {baseline:.2f} |" in card.stdout
    predictions = [
        json.loads(line) for line in (workspace.root / "reports" / "predictions.jsonl").open()
    ]
    best = max(predictions, key=lambda p: p["rouge"]["rougeL_f"])
    assert f"**best** (`{best['id']}`, {best['rouge']['rougeL_f']:.2f})" in card.stdout
    rows = json.loads((workspace.root / "reports" / "ingest.json").read_text())["rows"]
    assert f"train {rows['train']:,} · test {rows['test']:,}" in card.stdout
    assert "Digits come out as `#`" in card.stdout

    document = (raw / "test.article.txt").read_text().splitlines()[0]
    cli = workspace.run("summarizer", "summarize", document)
    assert cli.returncode == 0, cli.stderr
    from_cli = cli.stdout.strip()
    assert from_cli

    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    serve_env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "MLFLOW_TRACKING_URI": f"sqlite:///{workspace.root / 'mlflow.db'}",
    }
    log_file = tmp_path / "serve.log"
    command = ["mlflow", "models", "serve", "-m", "models:/e2e-summarizer@champion"]
    with open(log_file, "w") as log:
        server = subprocess.Popen(
            [*command, "--env-manager", "local", "-p", str(port)],
            cwd=workspace.root,
            env=serve_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"  # the default bind address
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, log_file.read_text()
            try:
                if requests.get(f"{url}/ping", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, log_file.read_text()
            time.sleep(0.5)
        response = requests.post(
            f"{url}/invocations", json={"dataframe_records": [{"document": document}]}, timeout=60
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [from_cli]}
        bad = requests.post(f"{url}/invocations", json={"dataframe_records": [{}]}, timeout=60)
        assert bad.status_code == 400 and "document" in bad.json()["message"]
    finally:
        stop_process_group(server)
