"""Register and promote on evidence, in a real MLflow store: runs whose evaluations are logged
as the evaluate stage logs them (per-example scores in ``evaluation/predictions.jsonl``, the
scoring options as params) are compared example by example with the version they would
replace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from summarizer import registry
from summarizer.cli import app
from summarizer.config.registry import RegisterParams
from summarizer.evaluation.report import EvaluationReport
from summarizer.registry.errors import PromotionRefused
from summarizer.registry.model_card import ModelCard
from tests.service.conftest import DECODE, GATE_EVALUATION, MODEL_NAME, Store, write_params

pytestmark = pytest.mark.slow

EXAMPLES = 300
SCORING = {
    "evaluate.scoring.rouge_types": "['rouge1', 'rouge2', 'rougeL', 'rougeLsum']",
    "evaluate.scoring.use_stemmer": "True",
    "evaluate.scoring.tokenizer": "default",
    "evaluate.scoring.corpus_metrics": "[]",
    "evaluate.scoring.bleu_tokenize": "13a",
}
BASE = np.random.default_rng(7).uniform(0, 60, EXAMPLES)


def evaluated_run(store: Store, scores: np.ndarray, tmp_path: Path) -> tuple[str, float]:
    """A finished run holding an evaluation of ``scores`` (per-example ROUGE-L) as evaluate
    logs one; returns the run and its ROUGE-L."""
    run_id = store.new_run(tags={"git_commit": "c0ffee" * 6, "data_hash": "d474" * 16})
    client = store.client()
    for key, value in SCORING.items():
        client.log_param(run_id, key, value)
    path = tmp_path / run_id / "predictions.jsonl"
    path.parent.mkdir(parents=True)
    with open(path, "w", encoding="utf-8") as handle:
        for index, value in enumerate(scores):
            record = {
                "id": f"test-{index:07d}",
                "document": f"document {index}",
                "reference": f"reference {index}",
                "references": [f"reference {index}"],
                "prediction": f"prediction {index}",
                "rouge": {"rouge1_f": round(value + 2, 3), "rougeL_f": round(value, 3)},
            }
            handle.write(json.dumps(record) + "\n")
    client.log_artifact(run_id, str(path), "evaluation")
    return run_id, float(np.mean(np.round(scores, 3)))


def register(
    store: Store,
    model_dir: Path,
    run: tuple[str, float],
    card: ModelCard | None = None,
    **settings: object,
):
    run_id, value = run
    test = {"rouge1_f": value + 2, "rougeL_f": value, "n_examples": EXAMPLES}
    return registry.log_and_register(
        uri=store.uri,
        run_id=run_id,
        settings=RegisterParams(model_name=MODEL_NAME, **settings),  # type: ignore[arg-type]
        model_dir=model_dir,
        test_metrics=test,
        decode=DECODE,
        evaluation=EvaluationReport.from_dict({**GATE_EVALUATION, "test": test}),
        card=card,
    )


def test_register_and_promote_only_what_is_better_beyond_noise(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    noise = np.random.default_rng(8).normal(0, 10, EXAMPLES)
    first = register(store, model_dir, evaluated_run(store, BASE, tmp_path))
    assert first.version == "1" and first.evidence is None  # nothing to compare with

    # Better by its point estimate, by noise alone: recorded, not registered as better.
    lucky_scores = BASE + noise - noise.mean() + 0.15
    lucky = register(store, model_dir, evaluated_run(store, lucky_scores, tmp_path))
    assert not lucky.registered and lucky.version is None
    assert lucky.evidence is not None and lucky.evidence["verdict"] == "equal within noise"
    comparison = lucky.evidence["comparison"]
    assert comparison["difference"] == pytest.approx(0.15, abs=0.01)
    assert comparison["low"] < 0 < comparison["high"] and comparison["p_value"] > 0.05
    assert "is equal within noise against version 1: rougeL_f +0.15" in lucky.reason
    tags = store.client().get_run(lucky.run_id).data.tags
    assert tags["register.decision"] == "not registered"
    assert tags["register.comparison.verdict"] == "equal within noise"
    assert float(tags["register.comparison.p_value"]) == comparison["p_value"]

    # Better beyond noise: registered, with the evidence on the version.
    card = ModelCard(model_name=MODEL_NAME, metric="rougeL_f")
    better_run = evaluated_run(store, BASE + noise * 0.2 + 3, tmp_path)
    better = register(store, model_dir, better_run, card)
    assert better.version == "2" and better.evidence["verdict"] == "better"
    version = store.client().get_model_version(MODEL_NAME, "2")
    assert version.tags["comparison.against"] == "1"
    assert float(version.tags["comparison.p_value"]) < 0.05
    assert float(version.tags["comparison.low"]) > 0
    assert "Paired test: better against version 1: rougeL_f +3." in version.description
    # The card says it too, with the numbers, in the version's description and its README.
    low, high = (better.evidence["comparison"][k] for k in ("low", "high"))
    interval = f"| {low:.2f}–{high:.2f} |"
    for text in (version.description, registry.read_card(store.uri, f"models:/{MODEL_NAME}/2")):
        assert "## Against the best earlier version" in text and "**better**" in text
        assert interval in text

    # significance: null keeps the point-estimate rule.
    other = np.random.default_rng(9).normal(0, 10, EXAMPLES)
    point_scores = BASE + noise * 0.2 + 3 + other - other.mean() + 0.1
    point = register(
        store, model_dir, evaluated_run(store, point_scores, tmp_path), significance=None
    )
    assert point.version == "3" and point.evidence is None

    registry.promote(store.uri, MODEL_NAME, "2", settings=RegisterParams(model_name=MODEL_NAME))
    with pytest.raises(PromotionRefused, match="not better than the champion beyond noise"):
        registry.promote(store.uri, MODEL_NAME, "3", settings=RegisterParams(model_name=MODEL_NAME))
    forced = registry.promote(
        store.uri,
        MODEL_NAME,
        "3",
        settings=RegisterParams(model_name=MODEL_NAME),
        force=True,
        reason="same within noise, but newer data",
    )
    assert forced.changed
    assert forced.checks["significance"].startswith("equal within noise against version 2")
    assert forced.checks["significance"].endswith("(overridden by --force)")
    promoted = store.client().get_model_version(MODEL_NAME, "3").tags
    assert promoted["promotion_forced"] == "true"
    assert "equal within noise" in json.loads(promoted["promotion_checks"])["significance"]


def test_compare_prints_the_paired_comparison_of_two_versions(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    register(store, model_dir, evaluated_run(store, BASE, tmp_path))
    register(store, model_dir, evaluated_run(store, BASE + 4, tmp_path))
    params = write_params(tmp_path / "params.yaml")
    shown = CliRunner().invoke(
        app,
        [
            "compare",
            f"models:/{MODEL_NAME}/1",
            f"models:/{MODEL_NAME}@challenger",
            "--params",
            str(params),
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert "version 2 against version 1: 300 test examples" in shown.stdout
    row = next(line for line in shown.stdout.splitlines() if "rougeL_f" in line)
    assert "+4.00" in row and "4.00 to 4.00" in row and f"{EXAMPLES} / 0 / 0" in row

    no_predictions = store.new_run()
    refused = CliRunner().invoke(
        app,
        ["compare", f"models:/{MODEL_NAME}/1", f"runs:/{no_predictions}", "--params", str(params)],
    )
    assert refused.exit_code == 1
    message = " ".join(refused.output.split())
    assert (
        f"run {no_predictions[:12]}: no evaluation/predictions.jsonl in run {no_predictions}"
        in message
    )
