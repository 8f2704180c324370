"""The paired comparison: its interval agrees with a bootstrap done by hand, noise is not called
better, a real difference is, direction and corpus metrics (sacrebleu statistics) included; and
two evaluations are compared only on the same examples and scoring options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from summarizer.evaluation.corpus_metrics import sentence_statistics
from summarizer.evaluation.significance import paired_comparison
from summarizer.registry.comparison import (
    ScoredExamples,
    comparable_metrics,
    compare,
    incomparability,
)
from summarizer.registry.errors import RegistryError

N = 1951  # the Gigaword test set's size


def systems(shift: float, noise: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 60, N)
    return a, a + shift + rng.normal(0, noise, N)


def test_the_interval_agrees_with_a_bootstrap_by_hand() -> None:
    a, b = systems(shift=0.6, noise=8.0)
    result = paired_comparison("rougeL_f", a, b, resamples=2000)
    differences = b - a
    rng = np.random.default_rng(123)
    means = differences[rng.integers(0, N, size=(5000, N))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    assert result.difference == pytest.approx(differences.mean())
    assert result.low == pytest.approx(low, abs=0.05)
    assert result.high == pytest.approx(high, abs=0.05)
    assert result.significant(0.05) and result.p_value < 0.01
    assert result.wins_b + result.wins_a + result.ties == N


def test_noise_is_equal_within_noise_and_a_minimum_difference_is_kept() -> None:
    a, b = systems(shift=0.0, noise=8.0, seed=2)
    result = paired_comparison("rougeL_f", a, b)
    assert not result.significant(0.05)
    assert result.low < 0 < result.high
    same = paired_comparison("rougeL_f", a, a.copy())
    assert same.difference == 0 and same.p_value == 1 and same.ties == N
    better = paired_comparison("rougeL_f", *systems(shift=0.6, noise=8.0))
    assert better.significant(0.05) and not better.significant(0.05, min_difference=1.0)


def test_lower_is_better_metrics_test_the_other_way() -> None:
    a, b = systems(shift=-0.8, noise=5.0)
    lower = paired_comparison("loss", a, b, greater_is_better=False)
    assert lower.difference < 0 and lower.significant(0.05)
    assert lower.wins_b > lower.wins_a  # a win is the lower score
    assert not paired_comparison("loss", a, b).significant(0.05)


def test_corpus_bleu_is_compared_from_summed_statistics() -> None:
    references = [[f"the cat number {i} sat on the mat"] for i in range(60)]
    good = [f"the cat number {i} sat on the mat" for i in range(60)]
    poor = [f"a dog {i} sat" for i in range(60)]
    rows_good, score = sentence_statistics("bleu", good, references)
    rows_poor, _ = sentence_statistics("bleu", poor, references)
    result = paired_comparison(
        "bleu", rows_poor, rows_good, score, per_example=(np.zeros(60), np.ones(60))
    )
    assert result.score_b == pytest.approx(100.0) and result.score_a < 20
    assert result.significant(0.05) and result.low > 0
    assert paired_comparison("bleu", rows_good, rows_poor, score).difference < 0


def scored(label: str, ids: list[str], scores: list[float], **changes: object) -> ScoredExamples:
    lines = [
        json.dumps(
            {
                "id": key,
                "document": f"document {key}",
                "reference": f"reference {key}",
                "references": [f"reference {key}"],
                "prediction": f"prediction {key}",
                "rouge": {"rouge1_f": value + 1, "rougeL_f": value},
            }
        )
        for key, value in zip(ids, scores, strict=True)
    ]
    options = {"rouge_types": "['rouge1', 'rougeL']", "use_stemmer": "True"}
    return ScoredExamples.from_lines(label, lines, {**options, **changes})  # type: ignore[arg-type]


def test_evaluations_compare_by_id_on_the_same_examples_and_options_only() -> None:
    ids = [f"test-{i}" for i in range(40)]
    values = np.random.default_rng(0).uniform(0, 50, 40).tolist()
    a = scored("version 1", ids, values)
    # The same examples in another order, each 5 points better.
    b = scored("version 2", ids[::-1], [v + 5 for v in values[::-1]])
    assert incomparability(a, b) is None
    assert comparable_metrics(a, b) == ["rouge1_f", "rougeL_f"]
    (result,) = compare(a, b, ["rougeL_f"])
    assert result.difference == pytest.approx(5.0) and result.wins_b == 40

    fewer = scored("version 3", ids[:30], values[:30])
    assert "different test sets (40 and 30 examples" in str(incomparability(a, fewer))
    other = scored("version 4", ids, values)
    other.examples["test-3"]["references"] = ["another reference"]
    assert "example test-3 has another references" in str(incomparability(a, other))
    unstemmed = scored("version 5", ids, values, use_stemmer="False")
    assert "evaluate.scoring.use_stemmer" in str(incomparability(a, unstemmed))
    with pytest.raises(RegistryError, match="different options"):
        compare(a, unstemmed, ["rougeL_f"])
    with pytest.raises(RegistryError, match=r"line 1: not a prediction record"):
        ScoredExamples.from_lines("version 6", ['{"id": 1}'], {})
