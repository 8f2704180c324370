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
from summarizer.errors import ConfigError

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


# spaCy's codes of the languages written without spaces between words.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})


def _without_hash(rules: Iterable[str]) -> list[str]:
    return [rule for rule in rules if rule != "#"]


class TextProcessor:
    """spaCy's rule-based tokenizer (``spacy.blank``: no model download) plus normalisation."""

    def __init__(self, settings: TokenizeParams) -> None:
        self.settings = settings

    @cached_property
    def nlp(self) -> Language:
        """The spaCy pipeline (tokenizer only) of the documents, built on first use."""
        return _blank_pipeline(self.settings.lang, self.settings.unknown_token)

    @cached_property
    def target_nlp(self) -> Language:
        """The pipeline of the summaries (translations): ``target_lang``'s, or the documents'."""
        if self.settings.target_language == self.settings.lang:
            return self.nlp
        return _blank_pipeline(self.settings.target_language, self.settings.unknown_token)

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
        target: bool = False,
    ) -> list[list[str]]:
        """Tokenize many texts with ``nlp.pipe``, batched and optionally multi-process (with the
        summaries' language's pipeline when ``target``).

        Whitespace tokens (newlines, runs of spaces) are dropped: they carry no content and would
        waste positions in the model's fixed-length window.
        """
        nlp = self.target_nlp if target else self.nlp
        docs = nlp.pipe(
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
            texts, self.settings.max_target_len, total=len(texts), progress=progress, target=True
        )

    def detokenize(self, tokens: Sequence[str]) -> str:
        """A summary's tokens as text, by the rules of its language (:func:`detokenize`)."""
        return detokenize(tokens, self.settings.target_language)


def _blank_pipeline(lang: str, unknown_token: str) -> Language:
    """``spacy.blank(lang)`` (no model download), its rule-based tokenizer adapted to the data."""
    # Imported here: decoding and detokenizing token lists never need spaCy (the GPU machine of
    # bench/gpu_run.py has none).
    import spacy
    from spacy.symbols import ORTH
    from spacy.tokenizer import Tokenizer
    from spacy.util import compile_prefix_regex, compile_suffix_regex

    try:
        nlp = spacy.blank(lang)
    except ImportError as exc:  # an unknown code, or a language whose segmenter is missing
        raise ConfigError(
            f"tokenize: spaCy cannot build language {lang!r} (tokenize.lang or "
            f"tokenize.target_lang): {str(exc).splitlines()[0]}"
        ) from None
    tokenizer = nlp.tokenizer
    if not isinstance(tokenizer, Tokenizer):
        # Chinese, Japanese, Thai... segment with a tokenizer of their own (Chinese: one token a
        # character by default), which has no prefix rules or special cases to adapt.
        return nlp
    # A number stays one token ("##,###", "#.#", "####s", "#,###," before its comma): spaCy
    # treats "#" as punctuation to split off either end, which spent one position of the
    # model's window on every masked digit and cut "#,###," into four pieces.
    tokenizer.token_match = _NUMBER.match
    tokenizer.prefix_search = compile_prefix_regex(_without_hash(nlp.Defaults.prefixes)).search
    tokenizer.suffix_search = compile_suffix_regex(_without_hash(nlp.Defaults.suffixes)).search
    tokenizer.add_special_case(unknown_token, [{ORTH: unknown_token}])
    return nlp


def detokenize(tokens: Sequence[str], lang: str = "en") -> str:
    """Join tokens into readable text; inverse enough of the tokenizer for reading and scoring.

    Languages written without spaces (:data:`UNSPACED_LANGUAGES`) are joined without them. Their
    spaCy tokenizers cut Latin words too (Chinese: into characters), so a space between two
    Latin words inside such a text is not restored ("iPhone 12" comes back "iPhone12").
    """
    if lang in UNSPACED_LANGUAGES:
        return "".join(tokens)
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub("", text)
    text = _SPLIT_HYPHEN.sub("-", text)
    return _NO_SPACE_AFTER.sub("", text)
