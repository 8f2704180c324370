"""The model card: facts gathered from a workspace's files, written as Markdown with a model-hub
header, escaped where the text comes from data, and cut to fit a version's description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from summarizer.config.params import load_params
from summarizer.evaluation.report import EvaluationReport
from summarizer.registry.card_format import escape
from summarizer.registry.card_markdown import DESCRIPTION_LIMIT, description, render
from summarizer.registry.model_card import Example, ModelCard
from summarizer.stages import card_facts
from tests.conftest import REPO_ROOT

EVALUATION = {
    "test_set": {"name": "gigaword", "examples": 1951, "documented_examples": 1951},
    "test": {
        "rouge1_f": 28.5634,
        "rouge1_f_low": 27.5712,
        "rouge1_f_high": 29.5208,
        "rouge2_f": 11.1702,
        "rougeL_f": 26.7911,
        "rougeL_f_low": 25.9,
        "rougeL_f_high": 27.7,
        "rougeL_p": 28.0,
        "n_examples": 1951,
    },
    "baseline_lead_words_8": {"rouge1_f": 21.9, "rouge2_f": 7.1, "rougeL_f": 19.95},
    "checks": {
        "distinct_prediction_share": 0.987,
        "repeated_trigram_rate": 0.0006,
        "repeated_word_share": 0.1727,
        "reference_repeated_word_share": 0.0251,
        "repeated_bigram_share": 0.0564,
        "reference_repeated_bigram_share": 0.0185,
        "mean_prediction_length": 6.57,
        "mean_reference_length": 8.79,
    },
    "duc2004": {
        "measure": "r",
        "truncate_bytes": 75,
        "model": {"rouge1_r": 24.1, "rougeL_r": 21.3, "n_examples": 500},
        "baseline": {"rouge1_r": 20.5, "rougeL_r": 18.0},
    },
}


def card(**changes: object) -> ModelCard:
    facts = {
        "model_name": "summarizer",
        "metric": "rougeL_f",
        "baseline": "lead_words_8",
        "evaluation": EVALUATION,
        **changes,
    }
    return ModelCard.model_validate(facts)


def header_of(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_the_header_and_the_results_table_hold_the_evaluation_numbers() -> None:
    text = render(card())
    header = header_of(text)
    results = header["model-index"][0]["results"][0]
    assert header["pipeline_tag"] == "summarization" and header["language"] == ["en"]
    values = {metric["name"]: metric["value"] for metric in results["metrics"]}
    test = EVALUATION["test"]
    assert values == {
        "ROUGE-1": test["rouge1_f"],
        "ROUGE-2": test["rouge2_f"],
        "ROUGE-L": test["rougeL_f"],
    }
    assert "| ROUGE-1 | 28.56 | 27.57–29.52 | 21.90 |" in text
    assert "| ROUGE-L (ranks versions) | 26.79 | 25.90–27.70 | 19.95 |" in text
    assert "| ROUGE-2 | 11.17 | - | 7.10 |" in text
    assert "| ROUGE-1 | 24.10 | 20.50 |" in text  # DUC-2004 recall, its own table
    assert "cut to 75 bytes" in text
    # Precision and bounds are no rows of their own.
    assert "28.00" not in text
    # Stutter beside the references' own rate, where a reader sees it.
    assert "| Summaries that say a content word twice | 17.3% | 2.5% |" in text
    assert "| Summaries that say two consecutive words twice | 5.6% | 1.8% |" in text
    assert "| Mean length in words | 6.6 | 8.8 |" in text


def test_a_translation_card_says_so_and_lists_bleu() -> None:
    evaluation = {
        "test": {"bleu": 21.29, "bleu_low": 20.05, "bleu_high": 22.44, "rougeL_f": 51.2},
        "baseline_source": {"bleu": 0.02, "rougeL_f": 3.0},
    }
    translation = card(
        metric="bleu",
        baseline="source",
        evaluation=evaluation,
        data={"dataset": "tatoeba-cmn", "tokenization": {"lang": "en", "target_lang": "zh"}},
    )
    text = render(translation)
    header = header_of(text)
    assert header["pipeline_tag"] == "translation" and header["language"] == ["en", "zh"]
    assert header["metrics"] == ["bleu", "rouge"]
    assert "| BLEU (ranks versions) | 21.29 | 20.05–22.44 | 0.02 |" in text
    assert "writes zh" in text


def test_text_from_data_cannot_become_markup() -> None:
    hostile = "see ![pixel](http://evil.example/p.png) <script>alert(1)</script> | a *b* `c`"
    example = Example(
        kind="worst", id="t-1", document=hostile, references=[hostile], prediction=hostile
    )
    # The body: the YAML header holds values, not markup.
    text = render(card(examples=[example], data={"dataset": "x <b>y</b>"}), header=False)
    assert "<script>" not in text and "<b>" not in text
    assert "![pixel]" not in text and "\\!" not in text  # "!" is harmless once "[" is escaped
    assert "\\[pixel\\]" in text and "&lt;script&gt;" in text
    assert "\\| a \\*b\\* \\`c\\`" in text  # no cell break, emphasis or code
    assert escape("two\nlines") == "two lines"


def test_a_description_fits_the_store_and_keeps_the_results() -> None:
    long_document = " ".join(["word"] * 80)
    examples = [
        Example(
            kind="typical",
            id=f"t-{i}",
            document=long_document,
            references=["r " * 400],
            prediction="p " * 400,
        )
        for i in range(5)
    ]
    full = card(examples=examples)
    assert len(render(full, header=False)) > DESCRIPTION_LIMIT
    text = description(full, "Registered because.", "models:/summarizer/3")
    assert len(text) <= DESCRIPTION_LIMIT
    assert text.startswith("# summarizer\n\nRegistered because.")
    assert "| ROUGE-L (ranks versions) | 26.79 |" in text and "## Examples" not in text
    assert 'summarize -m "models:/summarizer/3"' in text
    assert "word …" in render(full)  # the README keeps them, documents clipped
    cramped = description(full, "x", "models:/summarizer/3", limit=600)
    assert len(cramped) <= 600 and cramped.endswith("README.md in the model's artifacts)\n")


def write_workspace(root: Path) -> None:
    """The files a finished `dvc repro evaluate` leaves that the card reads, small."""
    model = root / "models" / "summarizer"
    model.mkdir(parents=True)
    config = {
        "src_vocab_size": 1500,
        "tgt_vocab_size": 1500,
        "pad_id": 0,
        "emb_dim": 32,
        "hidden_dim": 64,
        "enc_layers": 1,
        "dec_layers": 1,
        "rnn_type": "lstm",
        "bidirectional": True,
        "attention": "general",
        "copy": True,
        "coverage": False,
    }
    (model / "config.json").write_text(json.dumps(config))
    meta = {"parameters": 123456, "train_seconds": 61.2, "device": "cpu", "precision": "fp32"}
    (model / "meta.json").write_text(json.dumps({**meta, "best_epoch": 2, "epochs": 3}))
    tokenizer = {"lang": "en", "lowercase": True, "mask_digits": True, "max_source_len": 60}
    (model / "tokenizer.json").write_text(json.dumps({**tokenizer, "batch_size": 1000}))
    reports = root / "reports"
    reports.mkdir()
    rows = {"train": 300, "test": 40, "validation": 16}
    ingest = {"rows": rows, "validation_carved_from_train": True}
    (reports / "ingest.json").write_text(json.dumps(ingest))
    vocab = {"source": {"size": 1500, "validation_oov_rate": 0.04}, "shared": True}
    (reports / "vocab.json").write_text(json.dumps(vocab))
    (reports / "rouge_by_length.csv").write_text(
        "source_length,rouge1_f,rougeL_f,examples\n1-20,30.0,28.0,10\n>20,20.0,18.5,30\n"
    )
    with open(reports / "predictions.jsonl", "w", encoding="utf-8") as handle:
        for index, score in enumerate([40.0, 10.0, 25.0, 22.0, 0.0, 24.0, 90.0]):
            record = {
                "id": f"test-{index}",
                "document": f"document {index}",
                "reference": f"reference {index}",
                "references": [f"reference {index}"],
                "prediction": f"prediction {index}",
                "rouge": {"rouge1_f": score + 1, "rougeL_f": score},
            }
            handle.write(json.dumps(record) + "\n")


def test_facts_come_from_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_workspace(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    presets = tmp_path / "configs" / "datasets"
    presets.mkdir(parents=True)
    (presets / "gigaword.yaml").write_text("dataset:\n  name: gigaword\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    params = load_params(REPO_ROOT / "params.yaml")
    tags = {"git_commit": "abc123", "git_dirty": "False", "data_hash": "f" * 64}
    facts = card_facts.gather(params, EvaluationReport.from_dict(EVALUATION), "run-1", tags)

    assert facts.architecture is not None and facts.architecture.parameters == 123456
    assert facts.architecture.copy_source and not facts.architecture.coverage
    assert facts.training.seconds == 61.2 and facts.training.best_epoch == 2
    assert facts.provenance.git_commit == "abc123" and facts.provenance.run_id == "run-1"
    assert facts.data.preset == "configs/datasets/gigaword.yaml"
    assert facts.data.rows == {"train": 300, "test": 40, "validation": 16}
    assert facts.data.tokenization.mask_digits and facts.data.tokenization.max_source_len == 60
    assert facts.data.vocabulary.source_oov_rate == 0.04
    assert facts.decode == params.evaluate.decode.model_dump()
    assert [row["source_length"] for row in facts.by_source_length] == ["1-20", ">20"]
    # Typical first (nearest the median 24), then the best and the worst.
    chosen = [(example.kind, example.id) for example in facts.examples]
    assert chosen == [
        ("typical", "test-5"),
        ("typical", "test-2"),
        ("typical", "test-3"),
        ("best", "test-6"),
        ("worst", "test-4"),
    ]

    text = render(facts)
    assert "123,456 parameters" in text and "`abc123` (clean)" in text
    assert "train 300 · test 40 · validation 16" in text
    assert "the standard test set, whole (1,951 examples)" in text
    assert "Digits come out as `#`" in text and "Output is lowercase." in text
    assert "| &gt;20 | 30 | 18.50 |" in text  # HTML-escaped, shown as >20
    assert "- Model: prediction 6" in text


def test_missing_reports_leave_facts_out_not_the_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(tmp_path)
    params = load_params(REPO_ROOT / "params.yaml")
    facts = card_facts.gather(params, EvaluationReport.from_dict(EVALUATION))
    assert facts.architecture is None and facts.examples == [] and facts.data.rows == {}
    text = render(facts)
    assert "| ROUGE-L (ranks versions) | 26.79 |" in text
    assert "Rows** | not recorded" in text
