"""ROUGE scoring and its options, against the real rouge-score.

Expected values are worked out by hand in the comments, so a change in rouge-score or in our
wrapping (×100, best reference, truncation) shows up as a plain number mismatch.
"""

from __future__ import annotations

import json
import re

import pytest
from rouge_score import rouge_scorer, tokenizers

from summarizer.config.evaluation import ScoreConvention, ScoringParams
from summarizer.config.params import load_params
from summarizer.data.formats import join_sentences
from summarizer.errors import ConfigError, DataError
from summarizer.evaluation.scoring import ScoringOptions, score_corpus, truncate_bytes
from summarizer.evaluation.tokenizer import (
    MIN_KEPT_SHARE,
    UnicodeTokenizer,
    check_tokenizer,
    kept_share,
)
from tests.conftest import DATASETS

# Bootstrap off unless a test is about it: faster, and the point values do not depend on it.
NO_CI = ScoringOptions(bootstrap_samples=0)


def _one(prediction: str, references: str | list[str], **opts: object) -> dict[str, float]:
    options = ScoringOptions(bootstrap_samples=0, **opts)  # type: ignore[arg-type]
    return score_corpus([prediction], [references], options).per_example[0]


# ----------------------------------------------------------------------------- hand-computed
def test_subset_prediction_hand_computed() -> None:
    row = _one("the cat sat", "the cat sat on the mat")
    # Unigrams: all 3 predicted words occur in the 6-word reference: P=3/3, R=3/6, F=2PR/(P+R).
    assert row["rouge1_p"] == pytest.approx(100.0)
    assert row["rouge1_r"] == pytest.approx(50.0)
    assert row["rouge1_f"] == pytest.approx(66.6667, abs=1e-3)
    # Bigrams: "the cat", "cat sat" match out of 2 predicted and 5 reference bigrams.
    assert row["rouge2_p"] == pytest.approx(100.0)
    assert row["rouge2_r"] == pytest.approx(40.0)
    assert row["rouge2_f"] == pytest.approx(57.1429, abs=1e-3)
    # LCS is "the cat sat" (3 tokens), so ROUGE-L equals ROUGE-1 here.
    assert row["rougeL_p"] == pytest.approx(100.0)
    assert row["rougeL_r"] == pytest.approx(50.0)
    assert row["rougeL_f"] == pytest.approx(66.6667, abs=1e-3)


def test_word_order_hurts_rouge2_and_rougeL_but_not_rouge1() -> None:
    row = _one("mat the on sat cat the", "the cat sat on the mat")
    assert row["rouge1_f"] == pytest.approx(100.0)
    assert row["rouge2_f"] == pytest.approx(0.0)
    # A longest common subsequence is "the on the" (3 of 6 tokens in both texts).
    assert row["rougeL_f"] == pytest.approx(50.0)


def test_stemming_matches_inflections() -> None:
    assert _one("cats running", "cat runs")["rouge1_f"] == pytest.approx(100.0)
    assert _one("cats running", "cat runs", use_stemmer=False)["rouge1_f"] == pytest.approx(0.0)


def test_identical_texts_score_100_and_disjoint_score_0() -> None:
    same = _one("police arrest five protesters", "police arrest five protesters")
    assert all(v == pytest.approx(100.0) for v in same.values())
    disjoint = _one("stocks fall", "police arrest five protesters")
    assert all(v == 0.0 for v in disjoint.values())


# -------------------------------------------------------------------------- multi-reference
def test_multi_reference_keeps_best_reference_per_rouge_type() -> None:
    # Prediction "cat dog pig cow" (words of <= 3 letters, so stemming cannot interfere).
    #   ref A "cow pig dog cat": every unigram matches (R1 F=100), no bigram (R2=0), LCS 1 (25).
    #   ref B "cat dog owl bee": R1 P=R=2/4 (50); bigram "cat dog" 1 of 3 (33.3); LCS 2 (50).
    row = _one("cat dog pig cow", ["cow pig dog cat", "cat dog owl bee"])
    assert row["rouge1_f"] == pytest.approx(100.0)  # from A
    assert row["rouge2_f"] == pytest.approx(100 / 3)  # from B
    assert row["rouge2_p"] == pytest.approx(100 / 3)
    assert row["rougeL_f"] == pytest.approx(50.0)  # from B


def test_multi_reference_agrees_with_rouge_score_score_multi() -> None:
    predictions = ["the cat sat", "police arrest protesters", ""]
    references = [
        ["a cat sat down", "the cat sat on the mat"],
        ["protesters arrested by police", "police held five anti-nuclear protesters"],
        ["anything at all", "something"],
    ]
    types = ["rouge1", "rouge2", "rougeL"]
    ours = score_corpus(
        predictions, references, ScoringOptions(rouge_types=types, bootstrap_samples=0)
    )
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    for pred, refs, row in zip(predictions, references, ours.per_example, strict=True):
        expected = scorer.score_multi(refs, pred)
        for t in types:
            assert row[f"{t}_f"] == pytest.approx(100 * expected[t].fmeasure)


def test_plain_string_reference_is_one_reference() -> None:
    a = score_corpus(["the cat"], ["the cat sat"], NO_CI).mean
    b = score_corpus(["the cat"], [["the cat sat"]], NO_CI).mean
    assert a == b


# ------------------------------------------------------------------------------- ROUGE-Lsum
def test_lsum_uses_newline_separated_sentences() -> None:
    reference = join_sentences(["cat dog", "pig cow"])
    prediction = join_sentences(["pig cow", "cat dog"])
    assert prediction == "pig cow\ncat dog"
    row = _one(prediction, reference)
    # ROUGE-L sees "cat dog pig cow" vs "pig cow cat dog": LCS 2 of 4 -> 50.
    assert row["rougeL_f"] == pytest.approx(50.0)
    # ROUGE-Lsum: each reference sentence is fully covered by one predicted sentence: 4 hits of 4.
    assert row["rougeLsum_f"] == pytest.approx(100.0)
    # Without the newlines the summary is one sentence and Lsum falls back to L.
    flat = _one("pig cow cat dog", "cat dog pig cow")
    assert flat["rougeLsum_f"] == pytest.approx(flat["rougeL_f"])


def test_lsum_ignores_empty_sentences_and_spacing() -> None:
    # join_sentences keeps the text as given; rouge-score itself skips empty sentences and
    # splits tokens on any whitespace, so the scores equal those of the tidy text.
    reference = "cat dog\npig cow"
    untidy = _one(join_sentences(["pig  cow ", "", "cat dog", "   "]), reference)
    assert untidy == _one("pig cow\ncat dog", reference)


# -------------------------------------------------------------------------- empty prediction
def test_empty_prediction_is_scored_zero_and_counted() -> None:
    scores = score_corpus(["", "the cat sat"], ["the cat", "the cat sat"], NO_CI)
    assert scores.n_examples == 2
    assert all(v == 0.0 for v in scores.per_example[0].values())
    assert scores.mean["rouge1_f"] == pytest.approx(50.0)  # (0 + 100) / 2, not 100
    assert scores.to_metrics()["n_examples"] == 2


# ------------------------------------------------------------------------------- truncation
def test_truncate_bytes_never_splits_a_character() -> None:
    assert truncate_bytes("café au lait", 4) == "caf"  # "é" is 2 bytes, at bytes 3-4
    assert truncate_bytes("café au lait", 5) == "café"
    assert truncate_bytes("short", 75) == "short"


def test_duc_75_byte_truncation_cuts_prediction_only() -> None:
    # 70 filler bytes, a space, then "the cat sat": the first 75 bytes end after "the ".
    prediction = "x" * 70 + " the cat sat"
    reference = "the cat sat on the mat"
    whole = _one(prediction, reference, measure="r")
    cut = _one(prediction, reference, measure="r", truncate_bytes=75)
    assert whole["rouge1_r"] == pytest.approx(50.0)  # the, cat, sat of 6 reference words
    assert cut["rouge1_r"] == pytest.approx(100 / 6)  # only "the" survives the cut


# -------------------------------------------------------------------------------- tokenizer
def test_default_tokenizer_refuses_text_it_would_drop_unicode_keeps_it() -> None:
    prediction, reference = "καλημέρα κόσμε", "καλημέρα φίλε"
    # rouge-score's tokenizer keeps only [a-z0-9]: both texts would become empty and score 0.
    with pytest.raises(ConfigError, match=r"evaluate\.scoring\.tokenizer: unicode"):
        _one(prediction, reference)
    # The Unicode tokenizer keeps Greek words: 1 of 2 unigrams match.
    assert _one(prediction, reference, tokenizer="unicode")["rouge1_f"] == pytest.approx(50.0)


def _tatoeba(count: int) -> tuple[list[str], list[str]]:
    """The first ``count`` real English and Chinese sentences of the Tatoeba pairs."""
    with open(DATASETS / "tatoeba_cmn" / "cmn.txt", encoding="utf-8-sig") as handle:
        pairs = [next(handle).split("\t")[:2] for _ in range(count)]
    return [english for english, _ in pairs], [chinese for _, chinese in pairs]


@pytest.mark.parametrize("language", ["chinese", "arabic"])
def test_perfect_non_english_predictions_name_the_tokenizer_or_score_100(language: str) -> None:
    if language == "chinese":
        references = _tatoeba(300)[1][200:]
    else:
        references = ["قالت الحكومة يوم الاثنين إنها ستخفض الضرائب", "اعتقلت الشرطة رجلين في باريس"]
    # Was ROUGE 0.00 with exit 0: rouge-score's default tokenizer drops every character.
    with pytest.raises(ConfigError) as raised:
        score_corpus(references, references, NO_CI)
    message = str(raised.value)
    assert re.search(r"keeps [0-4]?\d% of the references' letters and digits", message)
    assert "evaluate.scoring.tokenizer: unicode" in message and "--tokenizer unicode" in message
    unicode = score_corpus(
        references, references, ScoringOptions(bootstrap_samples=0, tokenizer="unicode")
    )
    assert all(value == pytest.approx(100.0) for value in unicode.mean.values())


def test_chinese_is_scored_character_by_character() -> None:
    # One character of five differs: 4 of 5 unigrams and 2 of 4 bigrams match. As one token per
    # sentence (no spaces in Chinese) this scored 0.
    scores = _one("今天天氣很", "今天天气很", tokenizer="unicode")
    assert scores["rouge1_f"] == pytest.approx(80.0)
    assert scores["rouge2_f"] == pytest.approx(50.0)


def test_english_references_keep_the_default_tokenizer() -> None:
    # Published English numbers stay reproducible: no check fires on the standard test sets'
    # references, and accented Latin text is kept mostly whole.
    with open(DATASETS / "gigaword" / "test.title.txt", encoding="utf-8") as handle:
        gigaword = handle.read().splitlines()
    english = _tatoeba(2000)[0]
    default = tokenizers.DefaultTokenizer(use_stemmer=False)
    assert kept_share(gigaword, default) == pytest.approx(1.0)
    assert kept_share(english, default) == pytest.approx(1.0)
    french = ["le président a déclaré mercredi que l'économie française était à l'arrêt"]
    assert MIN_KEPT_SHARE < kept_share(french, default) < 0.95
    for references in (gigaword, english, french):
        check_tokenizer(references, NO_CI)
    assert kept_share(_tatoeba(50)[1], UnicodeTokenizer()) == pytest.approx(1.0)
    assert kept_share(["!!", ""], default) == 1.0  # nothing to lose


def test_unicode_tokenizer_tokens() -> None:
    tok = UnicodeTokenizer(use_stemmer=False)
    assert tok.tokenize("Café NIÑO, 42_x — 東京!") == ["café", "niño", "42", "x", "東", "京"]
    # Scripts without spaces between words are cut into characters; the others into words.
    assert tok.tokenize("カタカナとかな、漢字abc") == [*"カタカナとかな漢字", "abc"]
    assert tok.tokenize("서울에 갑니다") == ["서울에", "갑니다"]
    # Decomposed accents are composed first, so both spellings give the same token.
    assert tok.tokenize("cafe\u0301") == tok.tokenize("café")


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown foxes were jumping over lazy dogs.",
        "japan 's nec corp. and UNK computer corp. said ## agreements , 1990s",
        "Police arrested five anti-nuclear protesters on Thursday!",
    ],
)
@pytest.mark.parametrize("stem", [True, False])
def test_unicode_tokenizer_equals_default_on_ascii(text: str, stem: bool) -> None:
    assert UnicodeTokenizer(stem).tokenize(text) == tokenizers.DefaultTokenizer(stem).tokenize(text)


# -------------------------------------------------------------------------------- bootstrap
def _varied_corpus() -> tuple[list[str], list[str]]:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    predictions = [" ".join(words[i % 7 : i % 7 + 3]) for i in range(40)]
    references = [" ".join(words[(i * 3) % 8 : (i * 3) % 8 + 3]) for i in range(40)]
    return predictions, references


def test_bootstrap_interval_contains_mean_and_is_deterministic() -> None:
    predictions, references = _varied_corpus()
    options = ScoringOptions(bootstrap_samples=300, seed=7)
    first = score_corpus(predictions, references, options)
    again = score_corpus(predictions, references, options)
    other_seed = score_corpus(
        predictions, references, ScoringOptions(bootstrap_samples=300, seed=8)
    )
    for key, mean in first.mean.items():
        assert first.low[key] <= mean <= first.high[key]
    assert first.low == again.low and first.high == again.high
    assert first.low != other_seed.low or first.high != other_seed.high
    # The scores vary between examples, so the interval is not degenerate.
    assert first.low["rouge1_f"] < first.high["rouge1_f"]


def test_bootstrap_wider_at_higher_confidence() -> None:
    predictions, references = _varied_corpus()
    narrow = score_corpus(predictions, references, ScoringOptions(confidence=0.5, seed=1))
    wide = score_corpus(predictions, references, ScoringOptions(confidence=0.99, seed=1))
    assert (wide.high["rouge1_f"] - wide.low["rouge1_f"]) > (
        narrow.high["rouge1_f"] - narrow.low["rouge1_f"]
    )


def test_to_metrics_is_flat_json_safe_and_complete() -> None:
    predictions, references = _varied_corpus()
    metrics = score_corpus(
        predictions, references, ScoringOptions(bootstrap_samples=50)
    ).to_metrics()
    json.dumps(metrics)  # must not raise
    for t in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        for m in ("f", "p", "r"):
            assert {f"{t}_{m}", f"{t}_{m}_low", f"{t}_{m}_high"} <= metrics.keys()
    assert all(isinstance(v, (int, float)) for v in metrics.values())
    no_ci = score_corpus(predictions, references, NO_CI).to_metrics()
    assert "rouge1_f" in no_ci and "rouge1_f_low" not in no_ci


def test_headline_uses_chosen_measure() -> None:
    scores = score_corpus(
        ["the cat sat"],
        ["the cat sat on the mat"],
        ScoringOptions(measure="recall", bootstrap_samples=0),
    )
    assert scores.options.measure == "r"
    assert scores.headline()["rouge1"] == pytest.approx(50.0)


# ---------------------------------------------------------------------- options and errors
@pytest.mark.parametrize(
    "kwargs",
    [
        {"tokenizer": "spacy"},
        {"rouge_types": ["rouge1", "rougeW"]},
        {"rouge_types": []},
        {"rouge_types": ["rouge1", "rouge1"]},
        {"seed": 1, "unknown": 2},
        {"measure": "accuracy"},
        {"confidence": 1.0},
        {"bootstrap_samples": -1},
        {"truncate_bytes": 0},
    ],
)
def test_bad_options_raise_config_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ScoringOptions(**kwargs)  # type: ignore[arg-type]


def test_options_are_the_params_plus_a_test_set_convention() -> None:
    # One definition: every field comes from ScoringParams or ScoreConvention.
    assert set(ScoringOptions.model_fields) == (
        set(ScoringParams.model_fields) | set(ScoreConvention.model_fields)
    )
    params = ScoringParams(rouge_types=["rouge1"], bootstrap_samples=10, seed=3)
    options = ScoringOptions.from_params(params, measure="recall", truncate_bytes=75)
    assert options.model_dump() == {**params.model_dump(), "measure": "r", "truncate_bytes": 75}
    with pytest.raises(ConfigError, match="truncate_bytes"):
        ScoringOptions.from_params(params, truncate_bytes=0)


def test_params_yaml_is_checked_by_the_same_rules(tmp_path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "dataset: {name: x, path: ., format: jsonl, splits: {train: {file: a}, test: {file: b}}}\n"
        "evaluate:\n"
        "  scoring: {rouge_types: [rouge1, rougeW]}\n"
        "  extra_test_sets: {duc: {path: ., document: d, references: [r], measure: recall}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"unknown ROUGE type\(s\) \['rougeW'\]"):
        load_params(path)
    path.write_text(path.read_text().replace(", rougeW", ""), encoding="utf-8")
    assert load_params(path).evaluate.extra_test_sets["duc"].measure == "r"


def test_score_corpus_rejects_misaligned_or_empty_input() -> None:
    with pytest.raises(DataError, match="2 predictions but 1 references"):
        score_corpus(["a", "b"], ["a"], NO_CI)
    with pytest.raises(DataError, match="nothing to score"):
        score_corpus([], [], NO_CI)
    with pytest.raises(DataError, match="no reference"):
        score_corpus(["a"], [[]], NO_CI)
