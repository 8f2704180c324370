"""BLEU and chrF (evaluate.scoring.corpus_metrics) are sacrebleu's, references and intervals
included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from summarizer.evaluation.scoring import ScoringOptions, score_corpus

# Hand-made: a perfect translation, a near one, a wrong one, and one with a single reference.
PREDICTIONS = ["你好，世界。", "我很喜欢这本书。", "他明天不来。", "汤姆在哪里？"]
FIRST_REFERENCES = ["你好，世界！", "我非常喜欢这本书。", "她今天会来。", "汤姆在哪儿？"]
SECOND_REFERENCES = ["世界你好。", "这本书我很喜欢。", "她今天来。", "汤姆在哪里？"]

TRANSLATION = dict(corpus_metrics=["bleu", "chrf"], bleu_tokenize="zh", tokenizer="unicode")


def sacrebleu_command_line(tmp_path: Path, reference_files: list[list[str]]) -> dict[str, float]:
    """What ``sacrebleu REF... -i HYP -tok zh -m bleu chrf -b -w 4 -f text`` prints: the
    scores alone, one a line, with 4 decimals."""
    hypotheses = tmp_path / "hyp.txt"
    hypotheses.write_text("\n".join(PREDICTIONS) + "\n", encoding="utf-8")
    refs = []
    for k, lines in enumerate(reference_files):
        refs.append(tmp_path / f"ref{k}.txt")
        refs[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "sacrebleu", *map(str, refs), "-i", str(hypotheses)]
    printed = subprocess.run(
        [*command, "-tok", "zh", "-m", "bleu", "chrf", "-b", "-w", "4", "-f", "text"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {"bleu": float(printed[0]), "chrf": float(printed[1])}


@pytest.mark.parametrize("references", [1, 2])
def test_bleu_and_chrf_equal_sacrebleus_command_line(tmp_path: Path, references: int) -> None:
    reference_files = [FIRST_REFERENCES, SECOND_REFERENCES][:references]
    expected = sacrebleu_command_line(tmp_path, reference_files)
    scores = score_corpus(
        PREDICTIONS,
        [list(refs) for refs in zip(*reference_files, strict=True)],
        ScoringOptions(**TRANSLATION, bootstrap_samples=0),
    ).to_metrics()
    assert scores["bleu"] == pytest.approx(expected["bleu"], abs=1e-4)
    assert scores["chrf"] == pytest.approx(expected["chrf"], abs=1e-4)
    assert 0 < scores["bleu"] < 100 and "bleu_low" not in scores


def test_examples_with_fewer_references_count_only_the_ones_they_have() -> None:
    # The last example has one reference; padding it with a copy of that one changes nothing
    # (BLEU's clipped counts and closest length, chrF's best reference): None is "no reference".
    uneven = [[a, b] for a, b in zip(FIRST_REFERENCES[:-1], SECOND_REFERENCES[:-1], strict=True)]
    padded = [*uneven, [FIRST_REFERENCES[-1], FIRST_REFERENCES[-1]]]
    options = ScoringOptions(**TRANSLATION, bootstrap_samples=0)
    assert (
        score_corpus(PREDICTIONS, [*uneven, [FIRST_REFERENCES[-1]]], options).corpus
        == score_corpus(PREDICTIONS, padded, options).corpus
    )


def test_intervals_hold_the_corpus_score_and_follow_the_seed() -> None:
    references = [[a, b] for a, b in zip(FIRST_REFERENCES, SECOND_REFERENCES, strict=True)]
    options = ScoringOptions(**TRANSLATION, bootstrap_samples=300, seed=1)
    scores = score_corpus(PREDICTIONS * 5, references * 5, options).corpus
    for name in ("bleu", "chrf"):
        assert scores[f"{name}_low"] <= scores[name] <= scores[f"{name}_high"]
        assert scores[f"{name}_low"] < scores[f"{name}_high"]
    assert score_corpus(PREDICTIONS * 5, references * 5, options).corpus == scores
    wider = ScoringOptions(**TRANSLATION, bootstrap_samples=300, seed=1, confidence=0.99)
    again = score_corpus(PREDICTIONS * 5, references * 5, wider).corpus
    assert again["chrf_low"] <= scores["chrf_low"] and again["chrf_high"] >= scores["chrf_high"]


def test_summaries_are_scored_by_rouge_alone_unless_asked() -> None:
    scores = score_corpus(["police arrest man"], [["man arrested"]], ScoringOptions())
    assert scores.corpus == {} and "bleu" not in scores.to_metrics()
    with pytest.raises(Exception, match="corpus_metrics"):
        ScoringOptions(corpus_metrics=["bleu", "bleu"])
    with pytest.raises(Exception, match="corpus_metrics"):
        ScoringOptions(corpus_metrics=["meteor"])
