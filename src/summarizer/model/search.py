"""Batched greedy and beam search, plus UNK replacement from attention.

Both searches decode a whole batch at once: the model is called once per output position for all
live rows (examples, or examples x beams), finished hypotheses are set aside per example in
preallocated tensors, and examples that are done are dropped from the batch so they cost nothing
more. The only Python loop is over output positions.

Conventions shared by both searches (so ``beam_search(beam_size=1)`` equals ``greedy_search``):

* ``max_length`` counts output tokens without ``<eos>``. A hypothesis still running after
  ``max_length`` tokens is made to end there: the next step allows only ``<eos>``, so every
  hypothesis is scored with its ``<eos>`` probability.
* ``min_length``: ``<eos>`` is forbidden before ``min_length`` tokens.
* ``<pad>`` and ``<bos>`` are never generated.
* ``no_repeat_ngram_size = n > 0``: a token that would complete an n-gram already present in the
  hypothesis is forbidden.
* ``unrepeatable`` (a bool mask over the vocabulary, derived from the vocabulary by
  :class:`summarizer.Summarizer` when ``no_repeat_content_words`` is on): a token it marks is
  forbidden once the hypothesis has it.
* ``coverage_penalty = beta > 0`` (beam search): while searching and when ranking finished
  hypotheses, a hypothesis pays ``beta`` times the attention it has given beyond 1 to each source
  position (OpenNMT-py's "summary" penalty, applied at every step). Greedy search takes it and
  changes nothing: the penalty of a row is the same for all of its next tokens.
* Scores are summed log-probabilities (``<eos>`` included) divided by a length penalty of the
  scored length ``L`` (tokens + ``<eos>``): ``"none"`` (1), ``"avg"`` (``L``) or ``"gnmt"``
  (``((5 + L) / 6) ** alpha``, Wu et al. 2016). Beams are ranked by the raw sum while searching
  and finished hypotheses by the penalised score; an example stops once ``beam_size`` hypotheses
  have finished (as fairseq does).

Every option is a required keyword argument: their one definition, defaults included, is
:class:`summarizer.config.evaluation.DecodeParams` (``search_args()`` gives them; what they mean
at each step is :mod:`summarizer.model.search_options`).

The model is put in eval mode for the search and restored afterwards.

A copy model decodes over its extended vocabulary: given ``src_ext`` (see :class:`Seq2Seq`), the
hypotheses hold extended ids, ``V + k`` for the example's ``k``-th out-of-vocabulary source word
(``Vocab.decode(ids, oovs)`` turns them back into words). :func:`replace_unknowns`
still applies to the ``<unk>`` a model may generate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from summarizer.model.search_options import (
    LENGTH_PENALTIES,
    NEG_INF,
    check_options,
    constrain,
    coverage_excess,
    normalize,
)
from summarizer.model.seq2seq import Seq2Seq

__all__ = ["LENGTH_PENALTIES", "Hypothesis", "beam_search", "greedy_search", "replace_unknowns"]


@dataclass
class Hypothesis:
    """One decoded output: ids without ``<bos>``/``<eos>``, its (penalised) score, and the
    attention ``[len(token_ids), source length]`` of the step that produced each token."""

    token_ids: list[int]
    score: float
    attention: Tensor


def replace_unknowns(
    tokens: Sequence[str],
    attention: Tensor,
    source_tokens: Sequence[str],
    unk_token: str,
    is_content: Callable[[str], bool] | None = None,
) -> list[str]:
    """Replace each ``unk_token`` in ``tokens`` with the source token it attended to most.

    ``attention`` is ``[len(tokens), S]`` (a :class:`Hypothesis`'s); ``S`` may include padding or
    special tokens beyond ``source_tokens``, which are never copied (an UNK whose argmax falls
    there stays UNK). With ``is_content`` (which words a summary must not say twice), an UNK
    takes the most attended source word that is not a content word the summary already has,
    and stays UNK if there is none: two UNKs attending to one word would otherwise write it
    twice, the stutter the search was told to avoid.
    """
    if attention.dim() != 2 or attention.size(0) != len(tokens):
        raise ValueError(
            f"attention must be [len(tokens)={len(tokens)}, S], got {tuple(attention.shape)}"
        )
    out = list(tokens)
    if is_content is None:
        for i, token in enumerate(tokens):
            if token == unk_token:
                j = int(attention[i].argmax())
                if j < len(source_tokens):
                    out[i] = source_tokens[j]
        return out
    written = {token.lower() for token in tokens if is_content(token)}
    for i, token in enumerate(tokens):
        if token != unk_token:
            continue
        for j in attention[i].argsort(descending=True).tolist():
            if j >= len(source_tokens):
                continue
            word = source_tokens[j]
            if is_content(word):
                if word.lower() in written:
                    continue
                written.add(word.lower())
            out[i] = word
            break
    return out


def greedy_search(
    model: Seq2Seq,
    src: Tensor,
    src_lengths: Tensor,
    src_ext: Tensor | None = None,
    num_oov: int | None = None,
    unrepeatable: Tensor | None = None,
    *,
    max_length: int,
    min_length: int,
    no_repeat_ngram_size: int,
    length_penalty: str,
    alpha: float,
    coverage_penalty: float,
) -> list[Hypothesis]:
    """Most likely token at every step, for a batch ``src [B, S]``; one Hypothesis per example.

    The length and coverage penalties change no choice (there is nothing to rank); the length
    penalty is in the reported score.
    """
    check_options(max_length, min_length, no_repeat_ngram_size, length_penalty, 1, coverage_penalty)
    cfg = model.config
    with _eval_mode(model), torch.no_grad():
        memory, state = model.encode(src, src_lengths, src_ext, num_oov)
        batch, src_len = src.shape
        device = src.device
        out_tokens = torch.full(
            (batch, max_length + 1), cfg.pad_id, dtype=torch.long, device=device
        )
        out_attn = torch.zeros(batch, max_length + 1, src_len, device=device)
        scores = torch.zeros(batch, device=device)
        lengths = torch.full((batch,), max_length, dtype=torch.long, device=device)
        alive = torch.arange(batch, device=device)  # original example of each live row
        tokens = torch.full((batch,), cfg.bos_id, dtype=torch.long, device=device)
        for t in range(max_length + 1):
            logits, attn, state = model.decode_step(tokens, state, memory)
            log_probs = _log_probs(model, logits)
            history = out_tokens[alive, :t]
            constrain(
                log_probs,
                history,
                t,
                cfg,
                min_length,
                max_length,
                no_repeat_ngram_size,
                unrepeatable,
            )
            best, tokens = log_probs.max(dim=-1)
            scores[alive] += best
            out_tokens[alive, t] = tokens
            out_attn[alive, t] = attn.float()
            ended = tokens == cfg.eos_id
            if bool(ended.any()):
                lengths[alive[ended]] = t
                keep = (~ended).nonzero().squeeze(1)
                if keep.numel() == 0:
                    break
                alive, tokens = alive[keep], tokens[keep]
                state, memory = state.index_select(keep), memory.index_select(keep)
        scores = normalize(scores, lengths + 1, length_penalty, alpha)
        return _collect(out_tokens, out_attn, scores, lengths, src_lengths)


def beam_search(
    model: Seq2Seq,
    src: Tensor,
    src_lengths: Tensor,
    src_ext: Tensor | None = None,
    num_oov: int | None = None,
    unrepeatable: Tensor | None = None,
    *,
    beam_size: int,
    max_length: int,
    min_length: int,
    no_repeat_ngram_size: int,
    length_penalty: str,
    alpha: float,
    coverage_penalty: float,
) -> list[Hypothesis]:
    """Beam search over a batch ``src [B, S]``; the best finished Hypothesis per example."""
    check_options(
        max_length, min_length, no_repeat_ngram_size, length_penalty, beam_size, coverage_penalty
    )
    cfg = model.config
    k = beam_size
    with _eval_mode(model), torch.no_grad():
        memory, state = model.encode(src, src_lengths, src_ext, num_oov)
        batch, src_len = src.shape
        device = src.device
        # Rows are example-major: row b * k + j is beam j of live example b.
        rows = torch.arange(batch, device=device).repeat_interleave(k)
        memory, state = memory.index_select(rows), state.index_select(rows)
        vocab = model.output_size(memory)
        n_cand = min(2 * k, k * vocab)
        # The global 2k best continuations are among each beam's own 2k best tokens.
        per_beam = min(2 * k, vocab)
        # Finished hypotheses per original example: at most k slots.
        fin_tokens = torch.full(
            (batch, k, max_length + 1), cfg.pad_id, dtype=torch.long, device=device
        )
        fin_attn = torch.zeros(batch, k, max_length + 1, src_len, device=device)
        fin_len = torch.zeros(batch, k, dtype=torch.long, device=device)
        fin_score = torch.full((batch, k), NEG_INF, device=device)
        fin_count = torch.zeros(batch, dtype=torch.long, device=device)

        active = torch.arange(batch, device=device)  # original example of each live example
        # Only beam 0 is live at first, or the k beams would be k copies of one hypothesis.
        beam_scores = torch.full((batch, k), NEG_INF, device=device)
        beam_scores[:, 0] = 0.0
        seqs = torch.empty(batch * k, 0, dtype=torch.long, device=device)
        attn_hist = torch.empty(batch * k, 0, src_len, device=device)
        coverage = torch.zeros(batch * k, src_len, device=device)  # attention so far, per row
        tokens = torch.full((batch * k,), cfg.bos_id, dtype=torch.long, device=device)
        cand_rank = torch.arange(n_cand, device=device)

        for t in range(max_length + 1):
            logits, attn, state = model.decode_step(tokens, state, memory)
            log_probs = _log_probs(model, logits)
            constrain(
                log_probs,
                seqs,
                t,
                cfg,
                min_length,
                max_length,
                no_repeat_ngram_size,
                unrepeatable,
            )
            n_live = active.numel()
            attn = attn.float()
            # Beams are ranked by their summed log-probability minus the coverage penalty of the
            # attention so far (this step's included); the sums themselves are kept unpenalised.
            penalty = torch.zeros_like(beam_scores)
            if coverage_penalty > 0:
                penalty = coverage_penalty * coverage_excess(coverage + attn).view(n_live, k)
            # Ranking k x 2k candidates, not k x vocabulary, saves a pass over [rows, vocabulary].
            beam_top, beam_tok = log_probs.topk(per_beam, dim=1)
            cand = ((beam_scores - penalty).view(-1, 1) + beam_top).view(n_live, k * per_beam)
            # 2k candidates always hold k that do not end (each beam has a single <eos> token).
            top_ranked, top_idx = cand.topk(n_cand, dim=1)
            src_beam = top_idx // per_beam
            top_penalty = penalty.gather(1, src_beam)
            top_scores = top_ranked + top_penalty
            top_tok = beam_tok.view(n_live, k * per_beam).gather(1, top_idx)
            is_eos = top_tok == cfg.eos_id

            # Set aside the hypotheses that end among the k best candidates.
            ending = is_eos[:, :k] & torch.isfinite(top_scores[:, :k])
            if bool(ending.any()):
                ex_local, rank = ending.nonzero(as_tuple=True)
                example = active[ex_local]
                slot = fin_count[example] + ending.long().cumsum(1)[ex_local, rank] - 1
                ok = slot < k
                example, slot = example[ok], slot[ok]
                ex_local, rank = ex_local[ok], rank[ok]
                row = ex_local * k + src_beam[ex_local, rank]
                fin_tokens[example, slot, :t] = seqs[row]
                fin_attn[example, slot, :t] = attn_hist[row]
                fin_len[example, slot] = t
                fin_score[example, slot] = (
                    normalize(
                        top_scores[ex_local, rank],
                        torch.full_like(slot, t + 1),
                        length_penalty,
                        alpha,
                    )
                    - top_penalty[ex_local, rank]
                )
                fin_count.index_add_(0, example, torch.ones_like(example))
            if t == max_length:  # every live hypothesis was made to end at this step
                break

            # The k best candidates that do not end continue (stable: ranks order ties).
            order = torch.where(is_eos, cand_rank + n_cand, cand_rank)
            pick = order.argsort(dim=1, stable=True)[:, :k]
            beam_scores = top_scores.gather(1, pick)
            next_tok = top_tok.gather(1, pick)
            parent = (torch.arange(n_live, device=device) * k).unsqueeze(1) + src_beam.gather(
                1, pick
            )

            done = fin_count[active] >= k
            if bool(done.any()):
                keep = (~done).nonzero().squeeze(1)
                if keep.numel() == 0:
                    break
                active, beam_scores = active[keep], beam_scores[keep]
                next_tok, parent = next_tok[keep], parent[keep]
                parent_rows = parent.reshape(-1)
                memory = memory.index_select(parent_rows)  # same rows of each kept example
            else:
                parent_rows = parent.reshape(-1)
            state = state.index_select(parent_rows)
            seqs = torch.cat([seqs[parent_rows], next_tok.view(-1, 1)], dim=1)
            attn_hist = torch.cat([attn_hist[parent_rows], attn[parent_rows].unsqueeze(1)], dim=1)
            if coverage_penalty > 0:
                coverage = (coverage + attn)[parent_rows]
            tokens = next_tok.reshape(-1)

        best = fin_score.argmax(dim=1)
        pick_ex = torch.arange(batch, device=device)
        return _collect(
            fin_tokens[pick_ex, best],
            fin_attn[pick_ex, best],
            fin_score[pick_ex, best],
            fin_len[pick_ex, best],
            src_lengths,
        )


def _log_probs(model: Seq2Seq, logits: Tensor) -> Tensor:
    """Float32 log-probabilities of a step (the constraints then write into them)."""
    if model.outputs_log_probs:
        return logits.float()  # a copy model's mixture is normalised already
    return torch.log_softmax(logits.float(), dim=-1)


def _collect(
    tokens: Tensor, attn: Tensor, scores: Tensor, lengths: Tensor, src_lengths: Tensor
) -> list[Hypothesis]:
    """Per-example Python objects, built once at the end from one transfer to the CPU."""
    tokens, attn, scores = tokens.cpu(), attn.cpu(), scores.cpu()
    lengths, src_lengths = lengths.cpu(), src_lengths.cpu()
    out = []
    for b in range(tokens.size(0)):
        n, s = int(lengths[b]), int(src_lengths[b])
        out.append(Hypothesis(tokens[b, :n].tolist(), float(scores[b]), attn[b, :n, :s].clone()))
    return out


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
