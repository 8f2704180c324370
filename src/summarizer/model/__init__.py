"""Pure-torch seq2seq summarization model: no file, network or MLflow I/O in this package.

``Seq2Seq(Seq2SeqConfig(...))`` is the model the trainer optimises; ``greedy_search`` and
``beam_search`` decode batches with it; ``copy.py`` and ``coverage.py`` hold the
pointer-generator and coverage (``Seq2SeqConfig.copy``, ``.coverage``). (The benchmark's
tutorial baseline lives in ``bench/``.)
"""

from summarizer.model.attention import (
    AdditiveAttention,
    Attention,
    DotAttention,
    GeneralAttention,
    make_attention,
    masked_softmax,
)
from summarizer.model.config import ATTENTION_TYPES, RNN_TYPES, Seq2SeqConfig
from summarizer.model.copy import CopyGenerator, CopySource, copy_log_probs
from summarizer.model.coverage import coverage_loss
from summarizer.model.decoder import Decoder, DecoderState
from summarizer.model.encoder import Encoder, EncoderMemory
from summarizer.model.search import (
    LENGTH_PENALTIES,
    Hypothesis,
    beam_search,
    greedy_search,
    replace_unknowns,
)
from summarizer.model.seq2seq import Seq2Seq, Seq2SeqOutput, StepOutput

__all__ = [
    "ATTENTION_TYPES",
    "LENGTH_PENALTIES",
    "RNN_TYPES",
    "AdditiveAttention",
    "Attention",
    "CopyGenerator",
    "CopySource",
    "Decoder",
    "DecoderState",
    "DotAttention",
    "Encoder",
    "EncoderMemory",
    "GeneralAttention",
    "Hypothesis",
    "Seq2Seq",
    "Seq2SeqConfig",
    "Seq2SeqOutput",
    "StepOutput",
    "beam_search",
    "copy_log_probs",
    "coverage_loss",
    "greedy_search",
    "make_attention",
    "masked_softmax",
    "replace_unknowns",
]
