"""``summarize``, ``models``, ``promote`` and ``rollback`` through the real command line app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.inference import Summarizer
from tests.conftest import DATASETS
from tests.service.conftest import (
    DECODE,
    MODEL_NAME,
    Store,
    gigaword_documents,
    register_run,
    write_params,
)

pytestmark = pytest.mark.slow

DOCUMENTS = gigaword_documents(6)


@pytest.fixture(scope="module")
def expected(model_dir: Path) -> dict[str, list[str]]:
    """What the evaluate stage's code path gives for the test documents."""
    summarizer = Summarizer.from_dir(model_dir)
    greedy = DECODE.model_copy(update={"beam_size": 1, "max_length": 5, "replace_unk": False})
    return {
        "default": [s.text for s in summarizer.summarize(DOCUMENTS, DECODE)],
        "greedy": [s.text for s in summarizer.summarize(DOCUMENTS, greedy)],
    }


@pytest.fixture
def params(tmp_path: Path) -> Path:
    return write_params(tmp_path / "params.yaml")


def invoke(*args: str, input: str | None = None):
    result = CliRunner().invoke(app, list(args), input=input)
    return result


def test_summarize_registry_and_local_directory_match_the_evaluate_path(
    champion: Store, model_dir: Path, params: Path, expected: dict[str, list[str]], tmp_path: Path
) -> None:
    assert len(set(expected["default"])) > 1, "the tiny model should not summarize all alike"
    documents = tmp_path / "documents.txt"
    documents.write_text("\n".join(DOCUMENTS) + "\n", encoding="utf-8")
    greedy = ["--beam-size", "1", "--max-length", "5", "--keep-unk"]

    # Default --model: models:/<register.model_name>@champion, with the model's own defaults.
    from_registry = invoke("summarize", "--file", str(documents), "--params", str(params))
    assert from_registry.exit_code == 0, from_registry.output
    assert from_registry.stdout.splitlines() == expected["default"]

    from_directory = invoke(
        "summarize", "--file", str(documents), "--model", str(model_dir), "--params", str(params)
    )
    assert from_directory.exit_code == 0, from_directory.output
    assert from_directory.stdout.splitlines() == expected["default"]

    for model in (f"models:/{MODEL_NAME}/1", str(model_dir)):
        result = invoke(
            "summarize",
            "--file",
            str(documents),
            "--model",
            model,
            "--params",
            str(params),
            *greedy,
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == expected["greedy"], model


def test_summarize_reads_argument_stdin_and_json_lines(
    champion: Store, params: Path, expected: dict[str, list[str]], tmp_path: Path
) -> None:
    single = invoke("summarize", DOCUMENTS[0], "--params", str(params))
    assert single.exit_code == 0, single.output
    assert single.stdout == expected["default"][0] + "\n"

    piped = invoke("summarize", "--params", str(params), "--format", "jsonl", input=DOCUMENTS[1])
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout) == {"document": DOCUMENTS[1], "summary": expected["default"][1]}

    records = tmp_path / "docs.jsonl"
    records.write_text(
        "".join(json.dumps({"id": i, "text": d}) + "\n" for i, d in enumerate(DOCUMENTS[:3]))
    )
    result = invoke(
        "summarize",
        "-f",
        str(records),
        "--field",
        "text",
        "--format",
        "jsonl",
        "--params",
        str(params),
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == [0, 1, 2]
    assert [row["summary"] for row in rows] == expected["default"][:3]


def test_summarize_reports_bad_input_and_missing_models(
    champion: Store, params: Path, tmp_path: Path
) -> None:
    blank = tmp_path / "blank.txt"
    blank.write_text("first document here\n\nthird\n")
    checks = [
        (["--file", str(blank)], f"{blank}, line 2: empty line"),
        (["--beam-size", "0", "text"], "beam_size: Input should be greater than or equal to 1"),
        (["--model", f"models:/{MODEL_NAME}@staging", "text"], "has no alias @staging"),
        (["--model", f"models:/{MODEL_NAME}/9", "text"], "has no version 9 (versions: 1)"),
        (["--model", "models:/unknown@champion", "text"], "no registered model 'unknown'"),
        (["--model", str(tmp_path / "nowhere"), "text"], "neither a model directory nor"),
    ]
    for args, message in checks:
        result = invoke("summarize", *args, "--params", str(params))
        assert result.exit_code == 1, (args, result.output)
        # Compared without whitespace: the console wraps a long path anywhere, even mid-name.
        assert message.replace(" ", "") in "".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output


def test_models_promote_and_rollback_commands(
    store: Store, model_dir: Path, params: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = invoke("models", "--params", str(params))
    assert empty.exit_code == 1 and "no registered model 'summarizer-test'" in empty.output

    register_run(store, model_dir, 20.0)
    register_run(store, model_dir, 21.5)

    listing = invoke("models", "--params", str(params))
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert "2 version(s)" in listing.stdout
    assert any("@challenger" in line and "21.50" in line and "c0ffeec0ff" in line for line in lines)

    dry = invoke("promote", "--dry-run", "--params", str(params))
    assert dry.exit_code == 0, dry.output
    assert "[dry run] would move @champion of 'summarizer-test': nothing -> version 2" in dry.stdout
    assert "smoke: ok" in dry.stdout
    assert "champion" not in store.client().get_registered_model(MODEL_NAME).aliases

    assert invoke("promote", "--version", "1", "--params", str(params)).exit_code == 0
    promoted = invoke("promote", "--reason", "better", "--params", str(params))
    assert promoted.exit_code == 0, promoted.output
    assert "moved @champion of 'summarizer-test': version 1 -> version 2" in promoted.stdout
    refused = invoke("promote", "--version", "1", "--params", str(params))
    assert refused.exit_code == 1 and "worse than the champion" in refused.output
    unknown = invoke("promote", "--version", "7", "--params", str(params))
    assert unknown.exit_code == 1 and "has no version 7 (versions: 1, 2)" in unknown.output

    back = invoke("rollback", "--reason", "regression", "--params", str(params))
    assert back.exit_code == 0, back.output
    assert "rolled back @champion of 'summarizer-test': version 2 -> version 1" in back.stdout
    listing = invoke("models", "--params", str(params))
    assert any("@champion" in line and "20.00" in line for line in listing.stdout.splitlines())

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    unreachable = invoke("models", "--params", str(params))
    assert unreachable.exit_code == 1
    assert "http://127.0.0.1:9 cannot be reached" in unreachable.output


def test_tune_decoding_ranks_real_scores_on_the_validation_split(
    model_dir: Path, params: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from summarizer.config.params import load_params
    from summarizer.config.paths import Paths
    from summarizer.evaluation.scoring import ScoringOptions, score_corpus
    from summarizer.stages.validation_gate import interim_hash

    monkeypatch.chdir(tmp_path)
    documents = gigaword_documents(12, split="train")
    with open(DATASETS / "gigaword" / "train.title.txt", encoding="utf-8") as handle:
        summaries = [next(handle).strip() for _ in documents]
    Paths.interim_split("validation").parent.mkdir(parents=True)
    pd.DataFrame(
        {"id": [f"v{i}" for i in range(12)], "document": documents, "summary": summaries}
    ).to_parquet(Paths.interim_split("validation"))
    for split in ("train", "test"):
        shutil.copy(Paths.interim_split("validation"), Paths.interim_split(split))
    # A row validate dropped (validate.drop_invalid_rows) on these very tables is not tuned on.
    Paths.validation_summary.parent.mkdir(parents=True)
    summary = {"success": True, "data_hash": interim_hash(), "dropped_ids": {"validation": ["v11"]}}
    Paths.validation_summary.write_text(json.dumps(summary))
    documents, summaries = documents[:11], summaries[:11]

    out = tmp_path / "trials.csv"
    common = ["--model", str(model_dir), "--params", str(params)]
    result = invoke(
        "tune-decoding", "-s", "alpha=0,2", "-s", "min_length=0,4", "--output", str(out), *common
    )
    assert result.exit_code == 0, result.output
    trials = pd.read_csv(out)
    assert len(trials) == 4
    tried = sorted(zip(trials["alpha"], trials["min_length"], strict=True))
    assert tried == [(0, 0), (0, 4), (2, 0), (2, 4)]
    assert trials["rougeL_f"].is_monotonic_decreasing
    assert "best by rougeL" in result.stdout

    # Every row is the evaluate stage's scorer on the stage's decoding path, nothing else.
    best = trials.iloc[0]
    evaluate = load_params(params).evaluate
    options = evaluate.decode.model_copy(
        update={"alpha": float(best["alpha"]), "min_length": int(best["min_length"])}
    )
    predictions = [s.text for s in Summarizer.from_dir(model_dir).summarize(documents, options)]
    scores = score_corpus(
        predictions,
        [[s] for s in summaries],
        ScoringOptions.from_params(evaluate.scoring, bootstrap_samples=0),
    )
    assert best["rougeL_f"] == pytest.approx(scores.headline()["rougeL"], abs=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "alpha=1", "--split", "test"], "choosing options on the test split"),
        (["-s", "temperature=1,2"], "cannot tune temperature"),
        (["-s", "alpha"], "expected OPTION=V1,V2"),
        (["-s", "beam_size=0"], "beam_size"),
        (["-s", "alpha=1", "--rank-by", "bleu"], "--rank-by bleu: not one of rouge1"),
    ],
)
def test_tune_decoding_rejects_test_split_and_bad_options(
    model_dir: Path,
    params: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # no data/interim here: options are checked before any data
    result = invoke("tune-decoding", *args, "--model", str(model_dir), "--params", str(params))
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
