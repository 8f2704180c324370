"""Batched greedy and beam search: equivalences, constraints, scores, and UNK replacement."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from summarizer.model import (
    Hypothesis,
    Seq2Seq,
    Seq2SeqConfig,
    beam_search,
    greedy_search,
    replace_unknowns,
)

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SRC_V, TGT_V = 40, 30
LENGTHS = [7, 3, 5, 1, 6]
# The searches take every option (their one definition, defaults included, is DecodeParams):
# these tests start from no constraint at all and name what each one turns on.
UNCONSTRAINED = {
    "max_length": 30,
    "min_length": 0,
    "no_repeat_ngram_size": 0,
    "length_penalty": "none",
    "alpha": 0.0,
    "coverage_penalty": 0.0,
}


def options(**overrides: object) -> dict[str, object]:
    return {**UNCONSTRAINED, **overrides}


pytestmark = pytest.mark.usefixtures("one_thread")


def random_model(seed: int = 0, scale: float = 0.5, **overrides: object) -> Seq2Seq:
    """An untrained model with large weights, so its outputs depend on the source and are
    peaked enough to make ties between candidates practically impossible."""
    values: dict[str, object] = dict(
        src_vocab_size=SRC_V,
        tgt_vocab_size=TGT_V,
        emb_dim=16,
        hidden_dim=24,
        enc_layers=2,
        dec_layers=2,
        dropout=0.2,
    )
    values.update(overrides)
    torch.manual_seed(seed)
    model = Seq2Seq(Seq2SeqConfig(**values))  # type: ignore[arg-type]
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-scale, scale)
    return model


def sources(lengths: list[int] = LENGTHS, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_V, (len(lengths), max(lengths)), generator=gen)
    for i, n in enumerate(lengths):
        src[i, n:] = PAD
    return src, torch.tensor(lengths)


def ngrams(tokens: list[int], n: int) -> list[tuple[int, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def teacher_forced_log_prob(model: Seq2Seq, src: torch.Tensor, n: int, hyp: Hypothesis) -> float:
    """Sum of log-probabilities of ``hyp``'s tokens and a final <eos>, from the forward pass."""
    tgt_in = torch.tensor([[BOS, *hyp.token_ids]])
    gold = torch.tensor([[*hyp.token_ids, EOS]])
    with torch.no_grad():
        out = model.eval()(src[:, :n], torch.tensor([n]), tgt_in)
    return -F.cross_entropy(out.logits[0], gold[0], reduction="sum").item()


SEARCH_OPTIONS = [
    {},
    {"min_length": 4, "max_length": 6},
    {"no_repeat_ngram_size": 2, "length_penalty": "gnmt", "alpha": 0.7},
    {"no_repeat_ngram_size": 1, "length_penalty": "avg", "max_length": 8},
]


@pytest.mark.parametrize("settings", SEARCH_OPTIONS)
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"rnn_type": "gru", "attention": "bahdanau", "input_feeding": True},
        {"attention": "none"},  # the fixed-context model
    ],
)
def test_beam_size_one_equals_greedy(settings: dict, overrides: dict) -> None:
    model = random_model(**overrides)
    src, lengths = sources()
    greedy = greedy_search(model, src, lengths, **options(**settings))
    beam = beam_search(model, src, lengths, beam_size=1, **options(**settings))
    assert [h.token_ids for h in beam] == [h.token_ids for h in greedy]
    assert [h.score for h in beam] == pytest.approx([h.score for h in greedy], abs=1e-6)
    for b, g in zip(beam, greedy, strict=True):
        torch.testing.assert_close(b.attention, g.attention)


@pytest.mark.parametrize("search", ["greedy", "beam"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_ngram_blocking_never_repeats_an_ngram(search: str, n: int) -> None:
    # An untrained model loves repeating itself; min_length forces long outputs.
    model = random_model(seed=1, scale=0.2)
    src, lengths = sources()
    kwargs = options(max_length=15, min_length=15, no_repeat_ngram_size=n)
    if search == "beam":
        hyps = beam_search(model, src, lengths, beam_size=4, **kwargs)
    else:
        hyps = greedy_search(model, src, lengths, **kwargs)
    unblocked = greedy_search(model, src, lengths, **options(max_length=15, min_length=15))
    assert any(len(set(ngrams(h.token_ids, n))) < len(ngrams(h.token_ids, n)) for h in unblocked)
    for h in hyps:
        assert len(h.token_ids) == 15
        assert len(set(ngrams(h.token_ids, n))) == len(ngrams(h.token_ids, n)), h.token_ids


@pytest.mark.parametrize("beam_size", [1, 3])
@pytest.mark.parametrize(("min_length", "max_length"), [(0, 0), (0, 2), (3, 5), (6, 6)])
def test_length_limits_hold(beam_size: int, min_length: int, max_length: int) -> None:
    model = random_model(seed=2)
    src, lengths = sources()
    limits = options(min_length=min_length, max_length=max_length)
    hyps = beam_search(model, src, lengths, beam_size=beam_size, **limits)
    for h in hyps:
        assert min_length <= len(h.token_ids) <= max_length
        assert h.attention.shape[0] == len(h.token_ids)
        assert all(t not in (PAD, BOS, EOS) for t in h.token_ids)


def test_bad_options_are_clear_errors() -> None:
    model = random_model()
    src, lengths = sources()
    with pytest.raises(ValueError, match="min_length"):
        beam_search(model, src, lengths, beam_size=5, **options(min_length=5, max_length=4))
    with pytest.raises(ValueError, match="length_penalty"):
        greedy_search(model, src, lengths, **options(length_penalty="wu"))
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(model, src, lengths, beam_size=0, **options())
    with pytest.raises(ValueError, match="at least one token"):
        beam_search(model, src, torch.tensor([7, 0, 5, 1, 6]), beam_size=5, **options())
    without_max_length = {k: v for k, v in options().items() if k != "max_length"}
    with pytest.raises(TypeError, match="max_length"):  # no option has a default of its own
        greedy_search(model, src, lengths, **without_max_length)  # type: ignore[arg-type]


@pytest.mark.parametrize("beam_size", [1, 4])
def test_batched_search_equals_one_example_at_a_time(beam_size: int) -> None:
    model = random_model(seed=3, dropout=0.0)
    src, lengths = sources()
    kwargs = options(beam_size=beam_size, max_length=10, length_penalty="gnmt", alpha=0.6)
    batched = beam_search(model, src, lengths, **kwargs)
    for i, n in enumerate(LENGTHS):
        (alone,) = beam_search(model, src[i : i + 1, :n], lengths[i : i + 1], **kwargs)
        assert alone.token_ids == batched[i].token_ids
        assert alone.score == pytest.approx(batched[i].score, abs=1e-4)
        torch.testing.assert_close(alone.attention, batched[i].attention, atol=1e-5, rtol=1e-4)
    outputs = {tuple(h.token_ids) for h in batched}
    assert len(outputs) > 1, "degenerate model: the comparison would prove little"


@pytest.mark.parametrize("length_penalty", ["none", "avg", "gnmt"])
def test_beam_scores_and_attention_match_the_model(length_penalty: str) -> None:
    """The bookkeeping (reordering beams, setting finished ones aside) keeps each hypothesis's
    tokens, score and attention together: re-scoring with a forward pass gives the same."""
    model = random_model(seed=4)
    src, lengths = sources()
    alpha = 0.8
    kwargs = options(max_length=9, length_penalty=length_penalty, alpha=alpha)
    hyps = beam_search(model, src, lengths, beam_size=5, **kwargs)
    for i, (h, n) in enumerate(zip(hyps, LENGTHS, strict=True)):
        scored = len(h.token_ids) + 1
        penalty = {"none": 1.0, "avg": scored, "gnmt": ((5 + scored) / 6) ** alpha}
        log_prob = teacher_forced_log_prob(model, src[i : i + 1], n, h)
        assert h.score * penalty[length_penalty] == pytest.approx(log_prob, abs=1e-4)
        with torch.no_grad():
            out = model(src[i : i + 1, :n], torch.tensor([n]), torch.tensor([[BOS, *h.token_ids]]))
        torch.testing.assert_close(h.attention, out.attention[0, :-1], atol=1e-5, rtol=1e-4)


def test_beam_finds_at_least_the_greedy_log_prob() -> None:
    model = random_model(seed=5)
    src, lengths = sources()
    greedy = greedy_search(model, src, lengths, **options(max_length=8))
    beam = beam_search(model, src, lengths, beam_size=6, **options(max_length=8))
    assert sum(b.score >= g.score - 1e-5 for b, g in zip(beam, greedy, strict=True)) >= 4


def test_search_restores_training_mode() -> None:
    model = random_model().train()
    src, lengths = sources()
    first = beam_search(model, src, lengths, beam_size=2, **options(max_length=5))
    assert model.training
    second = beam_search(model, src, lengths, beam_size=2, **options(max_length=5))
    assert [h.token_ids for h in first] == [h.token_ids for h in second]  # dropout was off


def test_trained_model_decodes_its_training_targets() -> None:
    torch.manual_seed(0)
    cfg = Seq2SeqConfig(
        SRC_V, TGT_V, emb_dim=32, hidden_dim=64, enc_layers=2, dec_layers=2, dropout=0.0
    )
    model = Seq2Seq(cfg)
    src, lengths = sources([6, 4, 5, 3], seed=7)
    gold = torch.tensor(
        [[5, 6, 7, 8, EOS], [9, 10, 11, EOS, PAD], [12, 13, EOS, PAD, PAD], [14, 15, 16, 17, EOS]]
    )
    tgt_in = torch.cat([torch.full((4, 1), BOS), gold[:, :-1]], dim=1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(300):
        out = model(src, lengths, tgt_in)
        loss = F.cross_entropy(out.logits.transpose(1, 2), gold, ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.005:
            break
    expected = [[5, 6, 7, 8], [9, 10, 11], [12, 13], [14, 15, 16, 17]]
    assert [h.token_ids for h in greedy_search(model, src, lengths, **options())] == expected
    beam = beam_search(model, src, lengths, beam_size=3, **options())
    assert [h.token_ids for h in beam] == expected


def test_replace_unknowns_copies_the_most_attended_source_token() -> None:
    attention = torch.tensor([[0.7, 0.2, 0.1, 0.0], [0.1, 0.1, 0.8, 0.0], [0.0, 0.1, 0.2, 0.7]])
    tokens = ["<unk>", "won", "<unk>"]
    source = ["Obama", "wins", "Ohio"]  # the 4th column is padding: never copied
    assert replace_unknowns(tokens, attention, source, "<unk>") == ["Obama", "won", "<unk>"]
    assert tokens == ["<unk>", "won", "<unk>"]  # not modified in place
    attention[2] = torch.tensor([0.1, 0.1, 0.7, 0.1])
    assert replace_unknowns(tokens, attention, source, "<unk>") == ["Obama", "won", "Ohio"]
    with pytest.raises(ValueError, match="attention"):
        replace_unknowns(tokens, attention[:2], source, "<unk>")


def test_replace_unknowns_on_search_output() -> None:
    model = random_model(seed=6)
    src, lengths = sources()
    hyps = greedy_search(model, src, lengths, **options())
    for h, n, row in zip(hyps, LENGTHS, src, strict=True):
        assert h.attention.shape == (len(h.token_ids), n)
        torch.testing.assert_close(h.attention.sum(-1), torch.ones(len(h.token_ids)))
        words = ["<unk>" if t == UNK else f"w{t}" for t in h.token_ids]
        source_words = [f"s{t}" for t in row[:n].tolist()]
        replaced = replace_unknowns(words, h.attention, source_words, "<unk>")
        for word, new, att in zip(words, replaced, h.attention, strict=True):
            assert new == (source_words[int(att.argmax())] if word == "<unk>" else word)


def test_replace_unknowns_never_writes_a_content_word_twice() -> None:
    """Two UNKs attending to one source word would write it twice: the second takes the most
    attended word the summary does not have yet; function words and markers may repeat."""
    is_content = {"Cyprus", "wailed", "division", "anniversary"}.__contains__
    source = ["Cyprus", "wailed", "to", "mark", "division", "<unk>"]
    attention = torch.tensor(
        [
            [0.0, 0.9, 0.0, 0.0, 0.1, 0.0],  # <unk> -> wailed
            [0.05, 0.8, 0.0, 0.0, 0.15, 0.0],  # wailed, division are written: Cyprus
            [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],  # "division"
            [0.0, 0.6, 0.0, 0.0, 0.3, 0.1],  # next after those: the marker, kept
        ]
    )
    tokens = ["<unk>", "<unk>", "division", "<unk>"]
    plain = replace_unknowns(tokens, attention, source, "<unk>")
    assert plain == ["wailed", "wailed", "division", "wailed"]
    spared = replace_unknowns(tokens, attention, source, "<unk>", is_content)
    assert spared == ["wailed", "Cyprus", "division", "<unk>"]
    # A function word may be copied as often as it is attended to.
    attention[:, 2] = 5.0
    assert replace_unknowns(tokens, attention, source, "<unk>", is_content) == [
        "to",
        "to",
        "division",
        "to",
    ]


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_content_words_are_written_once_and_function_words_may_repeat(search: str) -> None:
    model = random_model(seed=1, scale=0.2)
    src, lengths = sources()
    function_words = {4, 5, 6}
    unrepeatable = torch.ones(TGT_V, dtype=torch.bool)
    unrepeatable[[PAD, UNK, BOS, EOS, *function_words]] = False
    kwargs = options(max_length=15, min_length=15)
    run = (
        (lambda **kw: beam_search(model, src, lengths, beam_size=4, **kw))
        if search == "beam"
        else (lambda **kw: greedy_search(model, src, lengths, **kw))
    )
    unblocked = run(**kwargs)
    blocked = run(unrepeatable=unrepeatable, **kwargs)

    def repeats(tokens: list[int]) -> list[int]:
        content = [t for t in tokens if t not in function_words and t != UNK]
        return sorted({t for t in content if content.count(t) > 1})

    assert any(repeats(h.token_ids) for h in unblocked)  # the rule has work to do
    for h in blocked:
        assert len(h.token_ids) == 15 and repeats(h.token_ids) == [], h.token_ids
    assert any(
        h.token_ids.count(t) > 1 for h in blocked for t in function_words | {UNK}
    )  # spared words still repeat where the model wants them


def test_copied_unknown_words_are_content_words() -> None:
    """Extended ids (source words outside the vocabulary) are banned once written."""
    from summarizer.model.search_options import block_repeats

    unrepeatable = torch.tensor([False, False, True, True])  # ids 0-3; 4 and 5 are copies
    log_probs = torch.zeros(2, 6)
    block_repeats(log_probs, torch.tensor([[1, 4], [0, 2]]), unrepeatable)
    assert torch.isinf(log_probs).nonzero().tolist() == [[0, 4], [1, 2]]


def test_coverage_penalty_ranks_beams_by_attention_given_twice() -> None:
    """beta * sum(max(coverage - 1, 0)) is paid by every hypothesis, in search and in its
    final score: 0 changes nothing, a large beta picks outputs that attend to each source
    word about once (none left with coverage above 1 where one without could be found)."""
    from summarizer.model.search_options import coverage_excess

    model = random_model(seed=4, dropout=0.0)
    src, lengths = sources()
    kwargs = options(max_length=8, min_length=8)
    plain = beam_search(model, src, lengths, beam_size=4, **kwargs)
    zero = beam_search(model, src, lengths, beam_size=4, **{**kwargs, "coverage_penalty": 0.0})
    assert [h.token_ids for h in zero] == [h.token_ids for h in plain]
    heavy = beam_search(model, src, lengths, beam_size=4, **{**kwargs, "coverage_penalty": 50.0})

    def excess(h: Hypothesis) -> float:
        """Of the attention of every step, the one that wrote ``<eos>`` included."""
        n = h.attention.shape[1]
        row = LENGTHS.index(n)
        with torch.no_grad():
            out = model.eval()(
                src[row : row + 1, :n], torch.tensor([n]), torch.tensor([[BOS, *h.token_ids]])
            )
        return float(coverage_excess(out.attention[0].sum(0)))

    assert sum(map(excess, heavy)) < sum(map(excess, plain))
    for h in heavy:  # the score is the log-probability minus the penalty of the whole output
        n = h.attention.shape[1]
        row = LENGTHS.index(n)
        logp = teacher_forced_log_prob(model, src[row : row + 1], n, h)
        assert h.score == pytest.approx(logp - 50.0 * excess(h), abs=1e-3)
    with pytest.raises(ValueError, match="coverage_penalty"):
        beam_search(model, src, lengths, beam_size=2, **{**kwargs, "coverage_penalty": -1.0})
