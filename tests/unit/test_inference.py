"""The text-to-summary path shared by evaluation, the CLI and serving, on its edge cases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from summarizer.config.data import TokenizeParams, VocabParams
from summarizer.config.evaluation import DecodeParams
from summarizer.config.training import ModelParams
from summarizer.data.vocab import Vocab
from summarizer.errors import ConfigError
from summarizer.inference import Summarizer
from summarizer.model import Seq2Seq
from summarizer.model_io import ModelLoadError, load_model_dir, save_model_dir
from summarizer.training import model_config

TOKENIZE = TokenizeParams(max_source_len=12, max_target_len=8)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sentence = "the police said a bomb exploded in the south of the country on monday"
    words = sentence.split(" ")
    vocab = Vocab.build([words], VocabParams(min_freq=1))
    config = model_config(
        ModelParams(emb_dim=16, hidden_dim=32, enc_layers=1, dec_layers=1), len(vocab), len(vocab)
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "summarizer"
    save_model_dir(path, Seq2Seq(config).state_dict(), config, TOKENIZE, vocab, vocab, {})
    return path


OPTIONS = DecodeParams(beam_size=3, max_length=6, min_length=0, no_repeat_ngram_size=0)
DOCUMENTS = ["the police said", "a bomb exploded in the south", "monday on the country"]


def test_model_directory_round_trip(model_dir: Path) -> None:
    loaded = load_model_dir(model_dir)
    assert loaded.processor.settings == TOKENIZE
    assert not loaded.model.training
    weights = torch.load(model_dir / "model.pt", weights_only=True)
    assert set(weights) == set(loaded.model.state_dict())


def test_empty_document_gives_a_summary_not_a_crash(model_dir: Path) -> None:
    [summary] = Summarizer.from_dir(model_dir).summarize([""], OPTIONS)
    assert summary.source_tokens == []
    assert isinstance(summary.text, str)
    assert len(summary.tokens) <= OPTIONS.max_length


def test_document_of_unknown_words(model_dir: Path) -> None:
    [summary] = Summarizer.from_dir(model_dir).summarize(["zebra quantum xylophone"], OPTIONS)
    assert summary.source_tokens == ["zebra", "quantum", "xylophone"]
    assert summary.attention.shape == (len(summary.tokens), 3)


def test_long_document_is_truncated_to_the_trained_window(model_dir: Path) -> None:
    document = " ".join(["the police said"] * 20)
    [summary] = Summarizer.from_dir(model_dir).summarize([document], OPTIONS)
    assert len(summary.source_tokens) == TOKENIZE.max_source_len


def test_batched_equals_one_at_a_time_in_input_order(model_dir: Path) -> None:
    documents = ["the police said", "a bomb exploded in the south", "", "monday"]
    summarizer = Summarizer.from_dir(model_dir)
    together = summarizer.summarize(documents, OPTIONS)
    alone = [summarizer.summarize([d], OPTIONS)[0] for d in documents]
    assert [s.text for s in together] == [s.text for s in alone]


def packaged(model_dir: Path, target: Path, options: DecodeParams) -> Path:
    """``model_dir`` as the package stage writes it: a copy with its decoding options."""
    shutil.copytree(model_dir, target)
    options.write(target)
    return target


def test_a_packaged_directory_decodes_with_its_own_options(model_dir: Path, tmp_path: Path) -> None:
    own = DecodeParams(beam_size=2, max_length=3, min_length=1, length_penalty="none")
    summarizer = Summarizer.from_dir(packaged(model_dir, tmp_path / "packaged", own))
    assert summarizer.options == own
    assert summarizer.directory == tmp_path / "packaged"
    plain = Summarizer.from_dir(model_dir)
    texts = [s.text for s in summarizer.summarize(DOCUMENTS)]
    assert texts == [s.text for s in plain.summarize(DOCUMENTS, own)]
    assert texts != [s.text for s in plain.summarize(DOCUMENTS)]  # not the code's defaults
    # Options given to a call still win over the directory's.
    given = [s.text for s in summarizer.summarize(DOCUMENTS, OPTIONS)]
    assert given == [s.text for s in plain.summarize(DOCUMENTS, OPTIONS)]


def test_a_directory_without_options_decodes_with_the_fallback(model_dir: Path) -> None:
    assert Summarizer.from_dir(model_dir).options == DecodeParams()
    assert Summarizer.from_dir(model_dir, fallback=OPTIONS).options == OPTIONS


def test_options_in_a_model_directory_are_checked_before_the_weights_load(tmp_path: Path) -> None:
    (tmp_path / "decode.json").write_text('{"beam_size": 0}')  # and no weights at all
    with pytest.raises(ConfigError, match=r"decode\.json: invalid parameters"):
        Summarizer.from_dir(tmp_path)


def test_evaluate_refuses_a_directory_packaged_with_other_options(
    model_dir: Path, tmp_path: Path
) -> None:
    path = packaged(model_dir, tmp_path / "packaged", OPTIONS)
    summarizer = Summarizer.from_dir(path)
    summarizer.require_options(OPTIONS.model_copy(update={"batch_tokens": 10}), "evaluate.decode")
    with pytest.raises(ConfigError) as caught:
        summarizer.require_options(OPTIONS.model_copy(update={"beam_size": 1}), "evaluate.decode")
    assert str(caught.value) == (
        f"{path} was packaged with other decoding options than evaluate.decode: beam_size 3 "
        "(not 1); run `summarizer package` with the same params first (`dvc repro` does)"
    )


def test_vocabulary_that_does_not_match_weights_is_named(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in model_dir.iterdir():
        target = broken / item.name
        if item.is_dir():
            target.mkdir()
            for file in item.iterdir():
                (target / file.name).write_bytes(file.read_bytes())
        else:
            target.write_bytes(item.read_bytes())
    vocab_file = broken / "vocab" / "target.json"
    payload = json.loads(vocab_file.read_text())
    payload["tokens"].append("extra")
    payload["counts"].append(1)
    vocab_file.write_text(json.dumps(payload))
    with pytest.raises(ModelLoadError, match="vocabulary does not belong to these weights"):
        load_model_dir(broken)


def test_missing_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="model directory not found"):
        load_model_dir(tmp_path / "nothing")


class _RunsCode:
    """Unpickling this calls ``print``: what a crafted weights file would do with os.system."""

    def __reduce__(self) -> tuple:
        return (print, ("unpickled",))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (
            {"encoder.weight": _RunsCode()},
            r"model\.pt: refused by safe loading .*refers to print,",
        ),
        ([torch.zeros(2)], r"model\.pt: expected a state dict .*got list"),
        (b"PK\x03\x04 truncated", r"model\.pt: not a readable PyTorch weights file"),
    ],
)
def test_weights_file_that_is_not_a_state_dict_is_named(
    model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    weights: object,
    message: str,
) -> None:
    crafted = tmp_path / "crafted"
    shutil.copytree(model_dir, crafted)
    if isinstance(weights, bytes):
        (crafted / "model.pt").write_bytes(weights)
    else:
        torch.save(weights, crafted / "model.pt")
    with pytest.raises(ModelLoadError, match=message):
        load_model_dir(crafted)
    assert "unpickled" not in capsys.readouterr().out


def test_copy_model_writes_a_source_word_it_never_saw(tmp_path: Path) -> None:
    """A pointer-generator decodes through the same path: with p_gen pinned at 0 it can only
    copy, so every output word is a source word, including ones outside its vocabulary, and
    they come out as themselves, not as <unk>."""
    words = ["the", "police", "said", "a", "bomb", "exploded"]
    vocab = Vocab.build([words], VocabParams(min_freq=1, shared=True))
    params = ModelParams(
        emb_dim=16, hidden_dim=32, enc_layers=1, dec_layers=1, copy=True, coverage=True
    )
    config = model_config(params, len(vocab), len(vocab))
    torch.manual_seed(0)
    model = Seq2Seq(config)
    with torch.no_grad():
        model.decoder.copy.switch.weight.zero_()
        model.decoder.copy.switch.bias.fill_(-50.0)  # p_gen = sigmoid(-50): copy only
    path = tmp_path / "summarizer"
    save_model_dir(path, model.state_dict(), config, TOKENIZE, vocab, vocab, {})

    summarizer = Summarizer.from_dir(path)
    document = "zanzibar ouagadougou timbuktu"  # no word of it is in the vocabulary
    # Three unknown words and a fourth to write: without the content-word rule it may copy one
    # again; with it, it must take a word of the vocabulary (tested in test_search.py).
    options = DecodeParams(
        beam_size=2, max_length=4, min_length=3, replace_unk=False, no_repeat_content_words=False
    )
    only_unknown, mixed = summarizer.summarize([document, f"the police said {document}"], options)
    assert len(only_unknown.tokens) >= 3
    assert set(only_unknown.tokens) <= set(document.split()), only_unknown.tokens
    assert set(mixed.tokens) <= {"the", "police", "said", *document.split()}, mixed.tokens


def test_fixed_context_model_keeps_unk_where_it_has_no_attention_to_copy_by(
    tmp_path: Path,
) -> None:
    """The tutorial's model attends to nothing: UNK replacement, on by default, must not put
    "the most attended" source word (any argmax of zeros: the first one) in place of <unk>."""
    words = ["the", "police", "said", "a", "bomb", "exploded"]
    vocab = Vocab.build([words], VocabParams(min_freq=1))
    params = ModelParams(emb_dim=16, hidden_dim=32, enc_layers=1, dec_layers=1, attention="none")
    config = model_config(params, len(vocab), len(vocab))
    torch.manual_seed(0)
    model = Seq2Seq(config)
    with torch.no_grad():  # writes <unk> whatever it reads
        model.decoder.output.bias.fill_(-50.0)
        model.decoder.output.bias[vocab.stoi[vocab.unk_token]] = 50.0
    path = tmp_path / "summarizer"
    save_model_dir(path, model.state_dict(), config, TOKENIZE, vocab, vocab, {})

    options = DecodeParams(beam_size=2, max_length=3, min_length=3, no_repeat_ngram_size=0)
    assert options.replace_unk
    [summary] = Summarizer.from_dir(path).summarize(["the police said"], options)
    assert summary.tokens == [vocab.unk_token] * 3
    assert not summary.attention.any()
