"""Tokenizer settings and the vocabulary: the functions training, evaluation and serving share."""

from __future__ import annotations

from pathlib import Path

import pytest

from summarizer.config.data import TokenizeParams, VocabParams
from summarizer.data.tokenization import TextProcessor, detokenize
from summarizer.data.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab
from summarizer.errors import DataError


def processor(**settings) -> TextProcessor:
    return TextProcessor(TokenizeParams(**settings))


def test_spacy_tokenizer_splits_punctuation_and_clitics() -> None:
    [tokens] = processor(lowercase=False).tokenize(["Thailand's Muslim south, (again)."])
    assert tokens == ["Thailand", "'s", "Muslim", "south", ",", "(", "again", ")", "."]


def test_lowercase_mask_digits_and_whitespace_dropped() -> None:
    [tokens] = processor(lowercase=True, mask_digits=True).tokenize(["Won 3-1\n\nin  2024"])
    assert tokens == ["won", "#-#", "in", "####"]


def test_masked_numbers_stay_one_token() -> None:
    [tokens] = processor().tokenize(["it rose #.# percent to ##,### in ####"])
    assert tokens == ["it", "rose", "#.#", "percent", "to", "##,###", "in", "####"]


def test_truncation_per_side() -> None:
    text = ["one two three four five"]
    proc = processor(max_source_len=3, max_target_len=2)
    assert proc.tokenize_source(text) == [["one", "two", "three"]]
    assert proc.tokenize_target(text) == [["one", "two"]]


def test_multiprocess_gives_same_tokens() -> None:
    texts = [f"sentence number {i} , with punctuation ." for i in range(50)]
    single = processor(n_process=1, batch_size=8).tokenize(texts)
    multi = processor(n_process=2, batch_size=8).tokenize(texts)
    assert single == multi


def test_detokenize_reattaches_punctuation() -> None:
    assert detokenize(["thailand", "'s", "south", ",", "again", "."]) == "thailand's south, again."
    assert detokenize(["(", "a", ")", "b", "n't"]) == "(a) bn't"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("up 1,234, yen", ["up", "#,###", ",", "yen"]),
        ("rose 3.5%, while", ["rose", "#.#%", ",", "while"]),
        ("in the 1990s and 21st", ["in", "the", "####s", "and", "##st"]),
        ("($4.5)", ["(", "$", "#.#", ")"]),
    ],
)
def test_masked_number_is_one_token_next_to_punctuation(text: str, tokens: list[str]) -> None:
    assert processor(mask_digits=True).tokenize([text]) == [tokens]


@pytest.mark.parametrize(
    "text",
    [
        "anti-nuclear rally in seoul turns violent",
        "u.s. says mid-east talks -- a first -- are on track",
        "dow closes up #.# percent at #,###, yen firmer",
        "a #-year-old man dies in the ####s flood ($#.# billion)",
    ],
)
def test_detokenize_inverts_tokenize_on_headlines(text: str) -> None:
    """What the model writes reads as the data was written, compounds and numbers included."""
    [tokens] = processor().tokenize([text])
    assert len(tokens) > len(text.split())  # the tokenizer did split something
    assert detokenize(tokens) == text


def test_vocab_build_counts_order_specials_and_limits() -> None:
    params = VocabParams(min_freq=2, max_size=6)
    vocab = Vocab.build([["b", "a", "a", "c"], ["b", "a", "d"], ["c"]], params)
    assert vocab.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    # a:3 first, then b and c tied at 2 (alphabetical); d below min_freq; max_size cuts nothing more
    assert vocab.itos[4:] == ["a", "b"]
    assert vocab.counts[4:] == [3, 2]
    assert vocab.encode(["a", "zzz"], add_bos=True, add_eos=True) == [BOS_ID, 4, UNK_ID, EOS_ID]
    assert vocab.decode([BOS_ID, 4, 5, EOS_ID, 4]) == ["a", "b"]
    assert vocab.oov_rate([["a", "q"], ["b", "r"]]) == 0.5
    # the dataset's own unknown marker is in the vocabulary but stands for an unknown word
    assert vocab.oov_rate([["a", "<unk>"]]) == 0.5


def test_vocab_round_trip_and_bad_file(tmp_path: Path) -> None:
    vocab = Vocab.build([["x", "y", "x", "y", "é"]], VocabParams(min_freq=1))
    vocab.save(tmp_path / "v.json")
    loaded = Vocab.load(tmp_path / "v.json")
    assert loaded.itos == vocab.itos and loaded.counts == vocab.counts
    (tmp_path / "bad.json").write_text('{"tokens": ["a"]}')
    with pytest.raises(DataError, match=r"bad\.json: not a valid vocabulary file"):
        Vocab.load(tmp_path / "bad.json")
    with pytest.raises(DataError, match="vocabulary file not found"):
        Vocab.load(tmp_path / "none.json")


def test_dataset_unknown_markers_become_one_unknown_token() -> None:
    [tokens] = processor().tokenize(["shooting during <unk> exercises near UNK ."])
    assert tokens == ["shooting", "during", "<unk>", "exercises", "near", "<unk>", "."]
    vocab = Vocab.build([tokens], VocabParams(min_freq=1))
    assert vocab.encode(tokens)[2] == UNK_ID
