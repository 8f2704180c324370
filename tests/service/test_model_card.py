"""Model cards in a real MLflow store: the logged model's README.md, the version's description,
``summarizer card`` and ``summarizer models --lineage``; and the served defaults kept out of the
run's params."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from summarizer import registry
from summarizer.cli import app
from summarizer.config.params import load_params
from summarizer.config.registry import RegisterParams
from summarizer.evaluation.report import EvaluationReport
from summarizer.stages import card_facts
from tests.conftest import REPO_ROOT
from tests.service.conftest import DECODE, GATE_EVALUATION, MODEL_NAME, Store, write_params
from tests.unit.test_model_card import write_workspace

pytestmark = pytest.mark.slow

DATA_HASH = "d474" * 16


def evaluation(rouge_l: float) -> EvaluationReport:
    test = {
        "rouge1_f": rouge_l + 8,
        "rougeL_f": rouge_l,
        "rougeL_f_low": rouge_l - 1,
        "rougeL_f_high": rouge_l + 1,
        "n_examples": 50,
    }
    return EvaluationReport.from_dict({**GATE_EVALUATION, "test": test})


def register_with_card(store: Store, model_dir: Path, scores: EvaluationReport, **tags: str):
    params = load_params(REPO_ROOT / "params.yaml")
    run_id = store.new_run(tags={"git_commit": "c0ffee" * 6, "data_hash": DATA_HASH, **tags})
    run_tags = store.client().get_run(run_id).data.tags
    card = card_facts.gather(params, scores, run_id, run_tags, model_dir=model_dir)
    card = card.model_copy(update={"model_name": MODEL_NAME})
    return registry.log_and_register(
        uri=store.uri,
        run_id=run_id,
        settings=RegisterParams(model_name=MODEL_NAME),
        model_dir=model_dir,
        test_metrics=scores.test,
        decode=DECODE,
        evaluation=scores,
        card=card,
    )


def header_metrics(card: str) -> dict[str, float]:
    header = yaml.safe_load(card.split("---\n")[1])
    metrics = header["model-index"][0]["results"][0]["metrics"]
    return {metric["name"]: metric["value"] for metric in metrics}


def test_each_version_carries_the_card_of_the_evaluation_it_was_registered_from(
    store: Store, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_workspace(tmp_path / "workspace")
    monkeypatch.chdir(tmp_path / "workspace")
    first = register_with_card(store, model_dir, evaluation(20.0))
    # The same training evaluated again with other options: a run of its own, better scores.
    again = evaluation(22.5)
    second = register_with_card(store, model_dir, again, training_run=first.run_id)
    assert (first.version, second.version) == ("1", "2")

    client = store.client()
    for outcome, scores in ((first, evaluation(20.0)), (second, again)):
        card = registry.read_card(store.uri, f"models:/{MODEL_NAME}/{outcome.version}")
        assert header_metrics(card) == {
            "ROUGE-1": scores.test["rouge1_f"],
            "ROUGE-L": scores.test["rougeL_f"],
        }
        row = f"| ROUGE-L (ranks versions) | {scores.test['rougeL_f']:.2f} |"
        assert row in card
        # The logged model's own card is the same file, wherever it is registered.
        assert registry.read_card(store.uri, outcome.model_uri) == card
        version = client.get_model_version(MODEL_NAME, outcome.version)
        assert version.description.startswith(
            f"# {MODEL_NAME}\n\nrougeL_f {scores.test['rougeL_f']:.4f}"
        )
        assert row in version.description
        assert f'summarize -m "models:/{MODEL_NAME}/{outcome.version}"' in version.description
        assert "| distinct\\_prediction\\_share | 0.985 | 0.8 | pass |" in version.description
        assert "| smoke | - | - | pass |" in version.description

        # The served defaults are in the model, not among the run's params.
        run = client.get_run(outcome.run_id)
        assert not [key for key in run.data.params if key.startswith(("decode/", "serve/"))]
        assert [m.model_id for m in run.outputs.model_outputs] == [
            outcome.model_uri.removeprefix("models:/")
        ]
        assert run.info.status == "FINISHED"

    params = write_params(tmp_path / "params.yaml")
    printed = CliRunner().invoke(app, ["card", "--params", str(params)])
    assert printed.exit_code == 1 and "has no alias @champion" in printed.output
    printed = CliRunner().invoke(app, ["card", f"models:/{MODEL_NAME}@challenger"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == registry.read_card(store.uri, f"models:/{MODEL_NAME}/2")
    missing = CliRunner().invoke(app, ["card", f"models:/{MODEL_NAME}/9"])
    assert missing.exit_code == 1 and "has no version 9" in missing.output

    lineage = CliRunner().invoke(app, ["models", "--lineage", "--params", str(params)])
    assert lineage.exit_code == 0, lineage.output
    commit = "c0ffee" * 6
    line = f"  version 2: commit {commit} (tree state unknown), data {DATA_HASH}, DVC remote "
    assert line in lineage.stdout
    short = CliRunner().invoke(app, ["models", "--params", str(params)])
    assert DATA_HASH not in short.stdout and DATA_HASH[:10] in short.stdout


def test_a_version_from_before_cards_says_how_to_get_one(store: Store, model_dir: Path) -> None:
    from tests.service.conftest import register_run

    register_run(store, model_dir, 20.0)  # no card facts: what registering did before cards
    with pytest.raises(registry.RegistryError, match=r"no README\.md in the model's artifacts"):
        registry.read_card(store.uri, f"models:/{MODEL_NAME}/1")
