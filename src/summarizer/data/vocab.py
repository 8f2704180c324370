"""Vocabulary: tokens to ids and back, built from the training split only."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from summarizer.config.data import VocabParams
from summarizer.errors import DataError
from summarizer.io import atomic_path

# Fixed ids let the model config hard-wire padding and start/end without looking tokens up.
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


@dataclass
class Vocab:
    """Token to id mapping with the four special tokens first (ids fixed by :data:`PAD_ID` and
    friends)."""

    itos: list[str]
    counts: list[int]
    stoi: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.itos) != len(self.counts):
            raise ValueError("itos and counts must have the same length")
        self.stoi = {token: index for index, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], params: VocabParams) -> Vocab:
        """Most frequent tokens first (ties broken alphabetically, so the result is
        deterministic), keeping those seen at least ``min_freq`` times, up to ``max_size``
        including the four special tokens."""
        counter: Counter[str] = Counter()
        for tokens in sequences:
            counter.update(tokens)
        specials = [params.pad_token, params.unk_token, params.bos_token, params.eos_token]
        for token in specials:
            counter.pop(token, None)
        ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        kept = [(tok, n) for tok, n in ranked if n >= params.min_freq][: params.max_size - 4]
        return cls(
            itos=specials + [tok for tok, _ in kept],
            counts=[0] * len(specials) + [n for _, n in kept],
        )

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def specials(self) -> list[str]:
        """The special tokens (padding, unknown, start, end), in their fixed ids' order."""
        return self.itos[: EOS_ID + 1]

    @property
    def unk_token(self) -> str:
        """The token unknown words map to."""
        return self.itos[UNK_ID]

    def encode(
        self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = False
    ) -> list[int]:
        """Ids of ``tokens``; unknown tokens become :data:`UNK_ID`."""
        ids = [self.stoi.get(token, UNK_ID) for token in tokens]
        if add_bos:
            ids.insert(0, BOS_ID)
        if add_eos:
            ids.append(EOS_ID)
        return ids

    def decode(self, ids: Iterable[int], oovs: Sequence[str] = ()) -> list[str]:
        """Ids to tokens, stopping at end-of-sequence and dropping padding and start tokens.

        ``oovs``: a copy model's extended ids (:func:`summarizer.batching.extend_source`), where
        ``len(self) + k`` is the source's ``oovs[k]``; an id past them (another example's
        temporary id) is the unknown token.
        """
        size = len(self.itos)
        tokens = []
        for index in ids:
            if index == EOS_ID:
                break
            if index in (PAD_ID, BOS_ID):
                continue
            if index < size:
                tokens.append(self.itos[index])
            else:
                k = index - size
                tokens.append(oovs[k] if k < len(oovs) else self.unk_token)
        return tokens

    def oov_rate(self, sequences: Iterable[Sequence[str]]) -> float:
        """Share of tokens the model cannot read or write as themselves.

        The dataset's own unknown markers (normalised to the unknown token) count as
        out-of-vocabulary: they are in ``stoi``, but they stand for words that are not.
        """
        total = unknown = 0
        for tokens in sequences:
            total += len(tokens)
            unknown += sum(token == self.unk_token or token not in self.stoi for token in tokens)
        return unknown / total if total else 0.0

    def save(self, path: Path | str) -> None:
        """Write the tokens in id order, with their training counts, as JSON (atomically)."""
        payload = {"tokens": self.itos, "counts": self.counts}
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> Vocab:
        """Read a vocabulary written by :meth:`save`; a missing or damaged file is a
        :class:`DataError`."""
        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            return cls(itos=list(payload["tokens"]), counts=list(payload["counts"]))
        except FileNotFoundError:
            raise DataError(f"{path}: vocabulary file not found") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: not a valid vocabulary file ({exc})") from None
