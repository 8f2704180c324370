"""The lead baselines and their sentence splitter."""

from __future__ import annotations

import pytest

from summarizer.config.evaluation import EvaluateParams
from summarizer.evaluation.baselines import baseline, lead_sentences, lead_words, split_sentences


def test_lead_words() -> None:
    assert lead_words("japan 's nec  corp.\tand UNK computer", 3) == "japan 's nec"
    assert lead_words("two words", 8) == "two words"
    assert lead_words("", 8) == ""
    with pytest.raises(ValueError):
        lead_words("a b", 0)


def test_lead_sentences_tokenized_text() -> None:
    document = (
        "the u.s. army said . `` we left ! '' officials in washington -lrb- d.c. -rrb- agreed ? "
        "a fourth sentence ."
    )
    assert split_sentences(document) == [
        "the u.s. army said .",
        "`` we left ! ''",
        "officials in washington -lrb- d.c. -rrb- agreed ?",
        "a fourth sentence .",
    ]
    assert lead_sentences(document) == (
        "the u.s. army said .\n`` we left ! ''\nofficials in washington -lrb- d.c. -rrb- agreed ?"
    )


def test_lead_sentences_raw_text_and_newlines() -> None:
    document = 'Mr. Smith flew to the U.S. on Monday. "He left!" Did he?\nYes\nNo.'
    assert split_sentences(document) == [
        "Mr. Smith flew to the U.S. on Monday.",
        '"He left!"',
        "Did he?",
        "Yes",
        "No.",
    ]
    assert lead_sentences(document, 2) == 'Mr. Smith flew to the U.S. on Monday.\n"He left!"'
    assert lead_sentences("") == ""


def test_baseline_follows_evaluate_params() -> None:
    document = "one two three . four five six . seven"
    assert baseline(document, EvaluateParams(lead_n=2)) == "one two"
    sentences = EvaluateParams(baseline="lead_sentences", lead_n=2)
    assert baseline(document, sentences) == "one two three .\nfour five six ."
