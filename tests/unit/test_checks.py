"""Degeneracy checks: the numbers that catch a collapsed model."""

from __future__ import annotations

import json

import pytest

from summarizer.errors import DataError
from summarizer.evaluation.checks import degeneracy_metrics


def test_degeneracy_metrics_hand_computed() -> None:
    predictions = ["a b c a b c", "a b c a b c", "x y", ""]
    references = ["a b", "c d e f", "g", ["h i", "j k l m"]]
    metrics = degeneracy_metrics(predictions, references)
    assert metrics["distinct_prediction_share"] == pytest.approx(3 / 4)
    # "a b c a b c" has 4 trigrams, abc repeats once: 1/4. Short predictions count as 0.
    assert metrics["repeated_trigram_rate"] == pytest.approx((0.25 + 0.25 + 0 + 0) / 4)
    assert metrics["empty_prediction_share"] == pytest.approx(1 / 4)
    assert metrics["mean_prediction_length"] == pytest.approx((6 + 6 + 2 + 0) / 4)
    # Multi-reference example counts the mean of its references: (2 + 4) / 2 = 3.
    assert metrics["mean_reference_length"] == pytest.approx((2 + 4 + 1 + 3) / 4)
    assert metrics["length_ratio"] == pytest.approx(14 / 10)
    assert metrics["n_examples"] == 4
    json.dumps(metrics)


def test_degeneracy_metrics_rejects_misaligned_or_empty_input() -> None:
    with pytest.raises(DataError, match="2 predictions but 1 references"):
        degeneracy_metrics(["a", "b"], ["a"])
    with pytest.raises(DataError, match="no predictions"):
        degeneracy_metrics([], [])


def test_chinese_is_counted_in_characters_and_english_as_before() -> None:
    from summarizer.registry.smoke import SMOKE_DOCUMENTS, smoke_problems
    from summarizer.words import words

    assert words("police arrest  man\tin paris") == ["police", "arrest", "man", "in", "paris"]
    assert words("汤姆在哪里？iPhone 12") == ["汤", "姆", "在", "哪", "里", "？iPhone", "12"]
    # A loop in Chinese is a loop: 我我我 repeats trigrams, as "the the the the" does.
    looping = degeneracy_metrics(["我我我我我我"], [["我爱你。"]])
    assert looping["repeated_trigram_rate"] > 0.5 and looping["mean_prediction_length"] == 6
    assert looping["mean_reference_length"] == 4
    # Six different translations use more than six different words (characters): not collapsed;
    # six near-copies of one sentence are.
    varied = [
        "我们不知道。",
        "地震了。",
        "警察来了。",
        "洋基队赢了。",
        "油价上涨。",
        "联合国投票。",
    ]
    assert smoke_problems(SMOKE_DOCUMENTS, varied) == []
    collapsed = ["我不知道。", "我不知道。", "我知道。", "我不知道。", "我不知道。", "我知道。"]
    assert any("different words" in p for p in smoke_problems(SMOKE_DOCUMENTS, collapsed))
