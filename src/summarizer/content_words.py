"""Which words a summary may say twice without stuttering.

"nec to join supercomputer sales in supercomputer sales" stutters; "bank of us markets to remain
calm in calm" too; "talks of the leaders of the union" does not. A content word is a word with a
letter that is neither a function word of its language (spaCy's stop words for it, which need no
model download) nor a marker the data writes for what it hides: the unknown token and the
dataset's unknown markers (Gigaword's ``UNK`` stands for a different word each time), and digit
masks (``#``, ``#.#``), which have no letter. The degeneracy checks count summaries that repeat a
content word (beside the references' own rate) and the search may forbid writing one again
(``evaluate.decode.no_repeat_content_words``): both use this one definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from itertools import pairwise

from summarizer.config.data import TokenizeParams
from summarizer.errors import ConfigError


@cache
def _stop_words(lang: str) -> frozenset[str]:
    try:  # imported on first use: reading a report needs no spaCy
        import spacy.util
    except ImportError:
        raise ConfigError(
            f"telling content words from function words needs spaCy's stop-word list for "
            f"{lang!r}, and spaCy is not installed here; install it, or decode with "
            "no_repeat_content_words: false"
        ) from None

    try:
        language = spacy.util.get_lang_class(lang)
    except ImportError:  # a code spaCy does not know: no stop-word list to spare
        return frozenset()
    return frozenset(language.Defaults.stop_words)


class ContentWords:
    """The content words of summaries in language ``lang``, sparing ``markers``.

    ``function_words``: the language's list when spaCy is not at hand (bench/gpu_prepare.py
    carries it to the GPU machine, which has no spaCy); by default spaCy's.
    """

    def __init__(
        self, lang: str, markers: Iterable[str] = (), function_words: Iterable[str] | None = None
    ) -> None:
        self.lang = lang
        self.markers = frozenset(markers)
        self.function_words = (
            _stop_words(lang) if function_words is None else frozenset(function_words)
        )

    @classmethod
    def of_summaries(
        cls,
        tokenize: TokenizeParams,
        extra_markers: Iterable[str] = (),
        function_words: Iterable[str] | None = None,
    ) -> ContentWords:
        """The content words of the summaries a model trained with ``tokenize`` writes: in its
        target language, sparing its unknown markers and token (and ``extra_markers``, such as a
        vocabulary's special tokens)."""
        markers = [*tokenize.unknown_markers, tokenize.unknown_token, *extra_markers]
        return cls(tokenize.target_language, markers, function_words)

    def is_content(self, word: str) -> bool:
        """Whether ``word`` is a content word (case does not matter)."""
        if word in self.markers or not any(ch.isalpha() for ch in word):
            return False
        return word.lower() not in self.function_words

    def repeats_a_word(self, words: Sequence[str]) -> bool:
        """Whether a content word occurs twice in ``words`` (case does not matter)."""
        seen: set[str] = set()
        for word in words:
            if self.is_content(word):
                key = word.lower()
                if key in seen:
                    return True
                seen.add(key)
        return False

    def unrepeatable(self, vocabulary: Sequence[str]) -> list[bool]:
        """Per id of ``vocabulary`` (its ``itos``): True where writing it twice is a stutter."""
        return [self.is_content(word) for word in vocabulary]


def repeats_a_bigram(words: Sequence[str]) -> bool:
    """Whether two consecutive words occur twice in ``words``, as they are written."""
    bigrams = list(pairwise(words))
    return len(set(bigrams)) < len(bigrams)
