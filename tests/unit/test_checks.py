"""Degeneracy checks: the numbers that catch a collapsed model."""

from __future__ import annotations

import json

import pytest

from summarizer.content_words import ContentWords
from summarizer.errors import DataError
from summarizer.evaluation.checks import degeneracy_metrics

ENGLISH = ContentWords("en", ["UNK", "<unk>"])


def test_degeneracy_metrics_hand_computed() -> None:
    predictions = ["a b c a b c", "a b c a b c", "x y", ""]
    references = ["a b", "c d e f", "g", ["h i", "j k l m"]]
    metrics = degeneracy_metrics(predictions, references, ENGLISH)
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
        degeneracy_metrics(["a", "b"], ["a"], ENGLISH)
    with pytest.raises(DataError, match="no predictions"):
        degeneracy_metrics([], [], ENGLISH)


def test_chinese_is_counted_in_characters_and_english_as_before() -> None:
    from summarizer.registry.smoke import SMOKE_DOCUMENTS, smoke_problems
    from summarizer.words import words

    assert words("police arrest  man\tin paris") == ["police", "arrest", "man", "in", "paris"]
    assert words("汤姆在哪里？iPhone 12") == ["汤", "姆", "在", "哪", "里", "？iPhone", "12"]
    # A loop in Chinese is a loop: 我我我 repeats trigrams, as "the the the the" does.
    looping = degeneracy_metrics(["我我我我我我"], [["我爱你。"]], ContentWords("zh"))
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


def test_stutter_is_counted_beside_the_references_own() -> None:
    """The issue's first test headlines: a content word said twice is stutter; function words,
    digit masks and the data's UNK (a different hidden word each time) are not."""
    predictions = [
        "factory orders orders #.# percent in september",  # content word twice
        "bank of us markets to remain calm in calm",  # "calm" twice ("in", "of" may repeat)
        "nec to join supercomputer sales in supercomputer sales",  # word and bigram twice
        "talks of the leaders of the union",  # function words only
        "# dead # injured in UNK UNK blast",  # masks and markers only
    ]
    references = [
        "us factory orders up #.# percent in september",
        ["bank of UNK UNK for calm", "calm urged in financial markets as bank of england acts"],
        "nec UNK in computer sales tie-up",
        "leaders meet",
        "blast kills #",
    ]
    metrics = degeneracy_metrics(predictions, references, ENGLISH)
    assert metrics["repeated_word_share"] == pytest.approx(3 / 5)
    # Bigrams are any two words, as written: "supercomputer sales" and "of the" both count.
    assert metrics["repeated_bigram_share"] == pytest.approx(2 / 5)
    assert metrics["reference_repeated_word_share"] == pytest.approx(0.0)
    assert metrics["reference_repeated_bigram_share"] == pytest.approx(0.0)
    stuttering_reference = degeneracy_metrics(
        ["a headline"], [["sales up as sales rise", "sales rise"]], ENGLISH
    )
    assert stuttering_reference["reference_repeated_word_share"] == pytest.approx(1 / 2)


def test_content_words_follow_the_language_and_the_markers() -> None:
    english = ContentWords("en", ["UNK"])
    assert [english.is_content(w) for w in ["Sales", "the", "of", "#.#", "UNK", "'s", "u.s."]] == [
        True,
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert english.repeats_a_word(["Sales", "rise", "as", "sales", "fall"])
    assert not english.repeats_a_word(["UNK", "UNK", "of", "the", "of", "the", "#", "#"])
    # Another language's function words: German "der" and "die" may repeat, "Haus" may not.
    german = ContentWords("de")
    assert not german.repeats_a_word(["der", "Mann", "und", "die", "Frau", "und", "der", "Hund"])
    assert german.repeats_a_word(["Haus", "brennt", "Haus"])
    # A language spaCy does not know spares no word (it cannot tell which are function words).
    assert ContentWords("qq").repeats_a_word(["the", "cat", "the"])
