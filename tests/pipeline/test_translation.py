"""The tutorial's own example through the whole pipeline: the Tatoeba English -> Chinese preset,
applied as its header says, on a real slice of the file, from ingest to a registered model that
turns "Hello world" into Chinese from the command line and through the served model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.pipeline.test_presets import apply_preset, load_preset
from tests.pipeline.workspace import Workspace, merge_params

pytestmark = pytest.mark.slow

# Tatoeba's file is sorted from the shortest sentence to the longest: the first lines are the
# greetings ("Hello!" -> "你好。", with several translations each), the later ones sentences.
SLICE_LINES = [*range(1, 301), *range(8001, 8101)]
CJK = re.compile(r"[\u4e00-\u9fff]")
SPLITS = ("train", "validation", "test")

TINY = {
    # Thirty epochs of small batches, no dropout or smoothing: a model of 400 pairs learns to
    # write different translations of different sentences (the register stage's smoke check asks
    # for that), if not good ones.
    "model": {"emb_dim": 64, "hidden_dim": 128, "dropout": 0.0},
    "train": {
        "max_epochs": 30,
        "batch_tokens": 300,
        "warmup_steps": 5,
        "lr": 0.005,
        "label_smoothing": 0.0,
        "threads": 1,
        "coverage_from_epoch": 30,
        "early_stopping_patience": 30,
        "checkpoint_every_steps": 0,
    },
    "evaluate": {
        "decode": {"beam_size": 3, "max_length": 20},
        "scoring": {"bootstrap_samples": 50},
        "attention_examples": 1,
    },
    "tracking": {"log_system_metrics": False},
    # Such a model still writes few distinct sentences: the gate's distinctness check is the
    # register tests' business, the path to a registered translator is this one's.
    "register": {"min_distinct_share": 0.0},
}


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory, datasets_dir: Path) -> Workspace:
    tmp_path = tmp_path_factory.mktemp("translation")
    raw = tmp_path / "raw" / "tatoeba_cmn"
    raw.mkdir(parents=True)
    lines = (datasets_dir / "tatoeba_cmn" / "cmn.txt").read_text(encoding="utf-8").split("\n")
    (raw / "cmn.txt").write_text("".join(lines[n - 1] + "\n" for n in SLICE_LINES), "utf-8")

    workspace = Workspace.create(tmp_path / "repo")
    preset = load_preset("tatoeba-cmn")
    preset["dataset"]["path"] = str(raw)
    preset["vocab"]["min_freq"] = 1  # a slice this small has few repeated words
    params = merge_params(apply_preset(workspace.params, preset), TINY)
    (workspace.root / "params.yaml").write_text(
        yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    repro = workspace.dvc("repro", timeout=1200)
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:]
    return workspace


def test_split_keeps_every_translation_of_a_sentence_on_one_side(translated: Workspace) -> None:
    interim = translated.root / "data" / "interim"
    splits = {name: pd.read_parquet(interim / f"{name}.parquet") for name in SPLITS}
    documents = {name: set(table["document"]) for name, table in splits.items()}
    assert not documents["train"] & documents["test"]
    assert not documents["train"] & documents["validation"]
    assert not documents["validation"] & documents["test"]
    # In test, one example per English sentence, its translations as its references.
    test = splits["test"]
    assert test["document"].is_unique
    assert (test["references"].map(len) >= 1).all()
    report = json.loads((translated.root / "reports" / "ingest.json").read_text())
    assert report["test_carved_from_train"] and report["validation_carved_from_train"]
    assert "carved from train (ingest.test_size 0.05)" in report["test_set"]["note"]


def test_chinese_is_tokenized_into_characters_and_english_into_words(
    translated: Workspace,
) -> None:
    root = translated.root
    processed = pd.read_parquet(root / "data" / "processed" / "train.parquet")
    interim = pd.read_parquet(root / "data" / "interim" / "train.parquet").set_index("id")
    for row in processed.itertuples():
        assert all(len(token) == 1 for token in row.target)  # 你 好 。: one token a character
        assert "".join(row.target) == interim.loc[row.id, "summary"].lower().replace(" ", "")
    assert any(len(token) > 1 for source in processed["source"] for token in source)  # words


def test_bleu_and_chrf_are_the_headline_and_rank_the_registry(translated: Workspace) -> None:
    root = translated.root
    evaluation = json.loads((root / "reports" / "evaluation.json").read_text())
    test = evaluation["test"]
    for name in ("bleu", "chrf"):
        assert test[f"{name}_low"] <= test[name] <= test[f"{name}_high"]
    assert evaluation["baseline_source"]["chrf"] < test["chrf"]
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    assert metrics["test_bleu"] == test["bleu"] and metrics["test_chrf"] == test["chrf"]
    register = json.loads((root / "reports" / "register.json").read_text())
    assert register["registered"] is True, register
    assert register["metric"] == "bleu"
    predictions = [
        json.loads(line)
        for line in (root / "reports" / "predictions.jsonl").read_text().splitlines()
    ]
    # Written without spaces, as Chinese is.
    assert any(CJK.search(p["prediction"]) for p in predictions)
    assert not any(" " in p["prediction"] for p in predictions if CJK.search(p["prediction"]))


def test_the_registered_model_translates_hello_world(translated: Workspace) -> None:
    promoted = translated.run("summarizer", "promote", "--reason", "first translator")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    cli = translated.run("summarizer", "summarize", "Hello world")
    assert cli.returncode == 0, cli.stderr
    assert CJK.search(cli.stdout) and " " not in cli.stdout.strip(), cli.stdout

    # What `mlflow models serve -m models:/...@champion` loads and answers requests with.
    served = translated.run(
        "python",
        "-c",
        "import mlflow, pandas as pd; "
        "model = mlflow.pyfunc.load_model('models:/summarizer-tatoeba-cmn@champion'); "
        "print(model.predict(pd.DataFrame({'document': ['Hello world']}))[0])",
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{translated.root / 'mlflow.db'}"},
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert served.stdout.strip() == cli.stdout.strip()
