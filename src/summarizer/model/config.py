"""Model hyper-parameters: one dataclass, validated once, saved as JSON beside the weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from summarizer.config.choices import (
    ATTENTION_FEATURES,
    ATTENTION_TYPES,
    NO_ATTENTION,
    RNN_TYPES,
    attention_needed_message,
)


@dataclass
class Seq2SeqConfig:
    """Everything needed to rebuild a :class:`~summarizer.model.Seq2Seq` with the same shapes.

    ``hidden_dim`` is the size of the decoder state and of every encoder output vector. A
    bidirectional encoder therefore uses ``hidden_dim // 2`` units per direction (as OpenNMT does):
    the two directions concatenated have the decoder's size, so Luong *dot* attention needs no
    extra projection and the encoder costs about what a unidirectional one of the same width does.

    ``attention="none"`` is the fixed-context model: the encoder's final state (bridged) starts
    the decoder, which never reads the encoder outputs again. ``copy``, ``coverage`` and
    ``input_feeding`` all read the attention, so they are refused with it.

    ``share_src_tgt_embeddings`` can only check that both vocabularies have the same size; the
    caller must only set it when the two vocabularies are really the same one.

    ``copy`` makes the decoder a pointer-generator (See et al. 2017): its outputs are then
    log-probabilities over the target vocabulary extended with each example's out-of-vocabulary
    source words (see ``copy.py``). ``coverage`` feeds the sum of earlier attention into the
    attention score (``coverage.py``). Both default to off, so configs saved before they existed
    load as the models they were.

    The defaults are those of ``params.yaml``'s ``model`` section
    (:class:`summarizer.config.training.ModelParams`; tests/unit/test_defaults.py keeps them
    equal): the train stage passes every field, so they only fill in what an older
    ``config.json`` lacks.
    """

    src_vocab_size: int
    tgt_vocab_size: int
    pad_id: int = 0
    unk_id: int = 1
    bos_id: int = 2
    eos_id: int = 3
    emb_dim: int = 128
    hidden_dim: int = 256
    enc_layers: int = 1
    dec_layers: int = 1
    rnn_type: str = "lstm"
    bidirectional: bool = True
    dropout: float = 0.2
    attention: str = "general"
    input_feeding: bool = False
    tie_embeddings: bool = False
    share_src_tgt_embeddings: bool = False
    copy: bool = False
    coverage: bool = False

    def __post_init__(self) -> None:
        for name in ("src_vocab_size", "tgt_vocab_size", "emb_dim", "hidden_dim"):
            _check_int(self, name, minimum=1)
        for name in ("enc_layers", "dec_layers"):
            _check_int(self, name, minimum=1)
        special = {
            "pad_id": self.pad_id,
            "unk_id": self.unk_id,
            "bos_id": self.bos_id,
            "eos_id": self.eos_id,
        }
        for name in special:
            _check_int(self, name, minimum=0)
            # Both vocabularies share the special ids, so each must fit in the smaller one.
            if getattr(self, name) >= min(self.src_vocab_size, self.tgt_vocab_size):
                raise ValueError(
                    f"{name}={getattr(self, name)} must be smaller than both vocabulary sizes "
                    f"(src_vocab_size={self.src_vocab_size}, tgt_vocab_size={self.tgt_vocab_size})"
                )
        if len(set(special.values())) != len(special):
            raise ValueError(f"pad_id, unk_id, bos_id and eos_id must be distinct, got {special}")
        if self.rnn_type not in RNN_TYPES:
            raise ValueError(f"rnn_type must be one of {RNN_TYPES}, got {self.rnn_type!r}")
        if self.attention not in ATTENTION_TYPES:
            raise ValueError(f"attention must be one of {ATTENTION_TYPES}, got {self.attention!r}")
        for name in (
            "bidirectional",
            "input_feeding",
            "tie_embeddings",
            "share_src_tgt_embeddings",
            "copy",
            "coverage",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.bidirectional and self.hidden_dim % 2:
            raise ValueError(
                f"hidden_dim must be even with bidirectional=true (each direction gets half), "
                f"got {self.hidden_dim}"
            )
        if self.attention == NO_ATTENTION:
            needing = [name for name in ATTENTION_FEATURES if getattr(self, name)]
            if needing:
                raise ValueError(attention_needed_message(needing))
        if self.share_src_tgt_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                "share_src_tgt_embeddings needs one shared vocabulary, but src_vocab_size="
                f"{self.src_vocab_size} and tgt_vocab_size={self.tgt_vocab_size} differ"
            )

    @property
    def enc_hidden_per_direction(self) -> int:
        """Encoder hidden size per direction, so both directions together match ``hidden_dim``."""
        return self.hidden_dim // 2 if self.bidirectional else self.hidden_dim

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict (ints, floats, strings, bools only)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seq2SeqConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error, not silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config field(s): {', '.join(unknown)}")
        missing = sorted(
            f.name for f in fields(cls) if f.name not in data and f.name.endswith("vocab_size")
        )
        if missing:
            raise ValueError(f"model config is missing required field(s): {', '.join(missing)}")
        return cls(**data)


def _check_int(cfg: Seq2SeqConfig, name: str, minimum: int) -> None:
    value = getattr(cfg, name)
    # bool is an int subclass; `hidden_dim: true` in a params file is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
