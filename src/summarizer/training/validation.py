"""The validation pass: the loss per target token that early stopping, the learning-rate plateau
and the best checkpoint go by."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from summarizer.batching import Batch, EncodedPairs, collate, token_batches
from summarizer.config.training import TrainParams
from summarizer.model import Seq2SeqConfig, Seq2SeqOutput
from summarizer.training import distributed
from summarizer.training.device import autocast
from summarizer.training.losses import batch_loss_terms


class ValidationLoss(NamedTuple):
    """A validation pass, per target token: the objective and its cross-entropy part."""

    loss: float  # cross-entropy + coverage_weight * coverage loss (with model.coverage)
    nll: float  # cross-entropy alone: the negative log-likelihood


def validation_loss(
    forward: Callable[[Batch], Seq2SeqOutput],
    pairs: EncodedPairs,
    params: TrainParams,
    config: Seq2SeqConfig,
    device: torch.device,
    autocast_dtype: torch.dtype | None,
) -> ValidationLoss:
    """Mean loss per target token of ``forward`` (a model of ``config`` in eval mode) over
    ``pairs``, with full teacher forcing, no label smoothing and no gradients, and its
    cross-entropy part.

    With coverage the loss includes the coverage loss at every epoch, also before the phase:
    the objective the final model is trained for, so epochs compare and the best checkpoint is
    one that learned coverage. The cross-entropy part compares with any model. Each rank
    validates every N-th batch; the sums are all-reduced.
    """
    nll = covered = 0.0
    tokens = 0
    batches = token_batches(
        [len(s) for s in pairs.sources],
        [len(t) for t in pairs.targets],
        batch_tokens=params.batch_tokens * 2,  # no gradients: twice the batch fits
        max_batch_size=params.max_batch_size * 2,
    )
    with torch.inference_mode(), autocast(device, autocast_dtype):
        for indices in batches[distributed.rank() :: distributed.world_size()]:
            batch = collate(pairs, indices).to(device)
            token, coverage = batch_loss_terms(
                forward(batch), batch, config, 0.0, coverage=config.coverage
            )
            nll += token.item()
            covered += coverage.item() if coverage is not None else 0.0
            tokens += batch.num_target_tokens
    nll, covered, tokens = distributed.all_sum(nll, covered, tokens, device=device)
    tokens = max(tokens, 1)
    weight = params.coverage_weight if config.coverage else 0.0
    return ValidationLoss(loss=(nll + weight * covered) / tokens, nll=nll / tokens)
