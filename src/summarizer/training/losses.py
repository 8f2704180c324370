"""The training objective: per-token cross-entropy, label smoothing, and the coverage loss.

All sums, over the target tokens that are not padding; the trainer divides by the token count.

Label smoothing with copy: a copy model's outputs range over the target vocabulary plus the
batch's temporary out-of-vocabulary ids, whose number changes from batch to batch and most of
which name no word of a given example (their probability is floored near zero). Smoothing over
them would make the loss depend on the batch's composition and pull mass towards ids that
cannot be right. Smoothing is therefore spread over the fixed vocabulary ``V`` only:
``(1 - eps) * NLL + eps * mean_{v < V} -log P(v)``, with ``P`` the mixed distribution; without
copy it is exactly PyTorch's ``cross_entropy(label_smoothing=eps)``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from summarizer.batching import Batch
from summarizer.data.vocab import PAD_ID
from summarizer.model import Seq2SeqConfig, Seq2SeqOutput
from summarizer.model.coverage import coverage_loss


def token_loss(
    output: Seq2SeqOutput,
    targets: Tensor,
    *,
    log_probs: bool,
    vocab_size: int,
    label_smoothing: float = 0.0,
    scored: Tensor | None = None,
) -> Tensor:
    """Summed cross-entropy of ``targets [B, T]`` under ``output.logits``, which are logits, or
    log-probabilities when ``log_probs`` (a copy model; ``targets`` then in extended ids).
    ``output.logits`` covers every position ``[B, T, *]``, or ``[N, *]`` only the positions
    ``scored`` (``Batch.scored``) names."""
    scores = output.logits.float()
    flat = targets.flatten()
    if scores.dim() == 3:
        scores = scores.flatten(0, 1)
    elif scored is None or scored.numel() != scores.size(0):
        raise ValueError(
            f"the model scored {scores.size(0)} positions: token_loss needs their indices "
            f"(scored), got {None if scored is None else scored.numel()}"
        )
    else:
        flat = flat.index_select(0, scored)
    if not log_probs:
        return F.cross_entropy(
            scores, flat, ignore_index=PAD_ID, label_smoothing=label_smoothing, reduction="sum"
        )
    nll = F.nll_loss(scores, flat, ignore_index=PAD_ID, reduction="sum")
    if not label_smoothing:
        return nll
    uniform = -(scores[:, :vocab_size].mean(dim=-1) * (flat != PAD_ID)).sum()
    return (1.0 - label_smoothing) * nll + label_smoothing * uniform


def coverage_term(output: Seq2SeqOutput, targets: Tensor) -> Tensor:
    """Summed coverage loss ``sum_i min(a_i, c_i)`` over the non-padding steps of ``targets``."""
    if output.coverage is None:
        raise ValueError("the coverage loss needs a model with coverage (model.coverage: true)")
    per_step = coverage_loss(output.attention, output.coverage)
    return (per_step * (targets != PAD_ID)).sum()


def batch_loss_terms(
    output: Seq2SeqOutput,
    batch: Batch,
    config: Seq2SeqConfig,
    label_smoothing: float = 0.0,
    coverage: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """The two summed parts of the objective of ``batch``, kept apart so validation can report
    the cross-entropy on its own: ``(cross-entropy, coverage loss)``, the coverage loss None
    unless ``coverage``. Cross-entropy is over the extended vocabulary and against the extended
    targets with copy; without label smoothing it is the negative log-likelihood."""
    targets = batch.tgt_out
    if config.copy:
        if batch.tgt_ext is None:
            raise ValueError("a copy model's loss needs the batch's extended targets (tgt_ext)")
        targets = batch.tgt_ext
    token = token_loss(
        output,
        targets,
        log_probs=config.copy,
        vocab_size=config.tgt_vocab_size,
        label_smoothing=label_smoothing,
        scored=batch.scored,
    )
    return token, coverage_term(output, targets) if coverage else None


def batch_loss(
    output: Seq2SeqOutput,
    batch: Batch,
    config: Seq2SeqConfig,
    label_smoothing: float = 0.0,
    coverage_weight: float = 0.0,
) -> Tensor:
    """The summed objective of ``batch``: cross-entropy plus ``coverage_weight`` times the
    coverage loss (see :func:`batch_loss_terms`)."""
    token, covered = batch_loss_terms(
        output, batch, config, label_smoothing, coverage=bool(coverage_weight)
    )
    return token if covered is None else token + coverage_weight * covered
