"""Text to tokens and back: the one place where that happens.

Training, evaluation and serving all call :class:`TextProcessor` built from the same settings (the
``tokenize`` section of ``params.yaml``, stored beside every model), so what is served is exactly
what was trained and scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from summarizer.config.data import TokenizeParams

if TYPE_CHECKING:
    from spacy.language import Language

_DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"^[#\d]+(?:[.,:/-][#\d]+)*$")
# Detokenization rules for PTB-style text: no space before closing punctuation and clitics.
_NO_SPACE_BEFORE = re.compile(r" (?=[.,!?;:%)\]}]|'s\b|n't\b|'re\b|'ve\b|'ll\b|'d\b|'m\b)")
_NO_SPACE_AFTER = re.compile(r"(?<=[(\[{$]) ")
# spaCy splits intra-word hyphens ("anti-nuclear") into three tokens; PTB-style text writes a
# dash between clauses as "--", so a lone hyphen between two words was a compound.
_SPLIT_HYPHEN = re.compile(r"(?<=\w) - (?=\w)")


def _without_hash(rules: Iterable[str]) -> list[str]:
    return [rule for rule in rules if rule != "#"]


class TextProcessor:
    """spaCy's rule-based tokenizer (``spacy.blank``: no model download) plus normalisation."""

    def __init__(self, settings: TokenizeParams) -> None:
        self.settings = settings

    @cached_property
    def nlp(self) -> Language:
        """The spaCy pipeline (tokenizer only), built on first use."""
        # Imported here: decoding and detokenizing token lists never need spaCy (the GPU
        # machine of bench/gpu_run.py has none).
        import spacy
        from spacy.symbols import ORTH
        from spacy.util import compile_prefix_regex, compile_suffix_regex

        nlp = spacy.blank(self.settings.lang)
        # A number stays one token ("##,###", "#.#", "####s", "#,###," before its comma): spaCy
        # treats "#" as punctuation to split off either end, which spent one position of the
        # model's window on every masked digit and cut "#,###," into four pieces.
        tokenizer = nlp.tokenizer
        tokenizer.token_match = _NUMBER.match
        tokenizer.prefix_search = compile_prefix_regex(_without_hash(nlp.Defaults.prefixes)).search
        tokenizer.suffix_search = compile_suffix_regex(_without_hash(nlp.Defaults.suffixes)).search
        token = self.settings.unknown_token
        nlp.tokenizer.add_special_case(token, [{ORTH: token}])
        return nlp

    @cached_property
    def _markers(self) -> re.Pattern[str] | None:
        markers = sorted(self.settings.unknown_markers, key=len, reverse=True)
        if not markers:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, markers)) + r")(?!\w)")

    def normalise(self, text: str) -> str:
        """Case, digits and unknown markers, on the whole text before tokenization.

        Once per document rather than once per token: the per-token version made the stage
        slower than calling spaCy one text at a time (bench/bench_tokenize.py). Markers are cut
        out first so that lowercasing cannot turn ``UNK`` into an ordinary word.
        """
        pieces = self._markers.split(text) if self._markers is not None else [text]
        if self.settings.lowercase:
            pieces = [piece.lower() for piece in pieces]
        if self.settings.mask_digits:
            pieces = [_DIGIT.sub("#", piece) for piece in pieces]
        return self.settings.unknown_token.join(pieces)

    def tokenize(
        self,
        texts: Iterable[str],
        max_len: int | None = None,
        *,
        total: int | None = None,
        progress: str | None = None,
    ) -> list[list[str]]:
        """Tokenize many texts with ``nlp.pipe``, batched and optionally multi-process.

        Whitespace tokens (newlines, runs of spaces) are dropped: they carry no content and would
        waste positions in the model's fixed-length window.
        """
        docs = self.nlp.pipe(
            map(self.normalise, texts),
            batch_size=self.settings.batch_size,
            n_process=self.settings.n_process,
        )
        if progress is not None:
            # disable=None: a bar on a terminal, silence in logs and CI.
            docs = tqdm(docs, total=total, desc=progress, unit="doc", mininterval=1.0, disable=None)
        sequences = []
        for doc in docs:
            tokens = [token.text for token in doc if not token.is_space]
            sequences.append(tokens[:max_len] if max_len is not None else tokens)
        return sequences

    def tokenize_source(self, texts: Sequence[str], progress: str | None = None) -> list[list[str]]:
        """Document tokens, truncated to ``max_source_len``."""
        return self.tokenize(
            texts, self.settings.max_source_len, total=len(texts), progress=progress
        )

    def tokenize_target(self, texts: Sequence[str], progress: str | None = None) -> list[list[str]]:
        """Summary tokens, truncated to ``max_target_len``."""
        return self.tokenize(
            texts, self.settings.max_target_len, total=len(texts), progress=progress
        )


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens into readable text; inverse enough of the tokenizer for reading and ROUGE."""
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub("", text)
    text = _SPLIT_HYPHEN.sub("-", text)
    return _NO_SPACE_AFTER.sub("", text)
