"""The tokenizers ROUGE is scored with (``evaluate.scoring.tokenizer``), and the check that the
chosen one keeps the text it scores.

- ``"default"``: rouge-score's own tokenizer. It lowercases and keeps only ``[a-z0-9]`` runs, so
  every non-ASCII character is *dropped* (``"café"`` becomes ``"caf"``, a Greek or Chinese summary
  becomes empty and scores 0). It is what published rouge-score numbers use; pick it for English.
- ``"unicode"``: :class:`UnicodeTokenizer`. NFKC-normalises and lowercases, then keeps runs of
  Unicode letters and digits of any script (Chinese characters and kana one token each, since
  those scripts write no spaces between words). On pure-ASCII text it gives exactly the same
  tokens as ``"default"``; pick it for text with accents or non-Latin scripts.

The default stays the default, so English numbers stay comparable with published ones, but it
is never applied where it cannot work: when it keeps less than :data:`MIN_KEPT_SHARE` of the
references' letters and digits (Chinese, Arabic, Greek, Russian text keeps none), scoring stops
with a :class:`ConfigError` naming ``evaluate.scoring.tokenizer: unicode`` instead of reporting
scores near 0 (:func:`check_tokenizer`). English keeps all of them, French or German about 90%.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from nltk.stem import porter
from rouge_score import tokenizers

from summarizer.config.evaluation import ScoringParams
from summarizer.errors import ConfigError
from summarizer.words import CHARACTER_WORDS

# Share of the references' letters and digits the scoring tokenizer must keep; below it, scores
# would measure what the tokenizer dropped, not the predictions (see check_tokenizer).
MIN_KEPT_SHARE = 0.5
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


class UnicodeTokenizer(tokenizers.Tokenizer):
    """rouge-score tokenizer that keeps letters and digits of every script.

    Text is NFKC-normalised (so composed and decomposed accents match, and full-width digits
    become ASCII) and lowercased; tokens are maximal runs of Unicode letters or digits, everything
    else separates tokens. Chinese characters and Japanese kana are one token each: those scripts
    put no spaces between words, so a run would make a whole sentence one token (a perfect
    prediction would score ROUGE-2 0, a near miss ROUGE-1 0); character-level ROUGE is how
    Chinese summarization (LCSTS) reports it. With ``use_stemmer`` the Porter stemmer is applied,
    like rouge-score, to tokens longer than 3 characters, but only to ASCII tokens: it is an
    English stemmer and would mangle other languages. On ASCII input the tokens equal
    rouge-score's default ones.
    """

    # ``[^\W_]`` is "word character but not underscore": letters and digits of any script; the
    # CJK ideographs and kana alone (summarizer.words).
    _TOKEN_RE = re.compile(rf"[{CHARACTER_WORDS}]|[^\W_{CHARACTER_WORDS}]+")
    _ASCII_TOKEN_RE = re.compile(r"^[a-z0-9]+$")

    def __init__(self, use_stemmer: bool = False) -> None:
        self._stemmer = porter.PorterStemmer() if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text``, stemmed if the tokenizer was built with ``use_stemmer``."""
        text = unicodedata.normalize("NFKC", text).lower()
        tokens = self._TOKEN_RE.findall(text)
        if self._stemmer is not None:
            tokens = [
                self._stemmer.stem(t) if len(t) > 3 and self._ASCII_TOKEN_RE.match(t) else t
                for t in tokens
            ]
        return tokens


def kept_share(texts: Iterable[str], tokenizer: tokenizers.Tokenizer) -> float:
    """The share of the letters and digits of ``texts`` that ``tokenizer`` keeps in its tokens
    (1.0 for texts without any). Stemming is off: it shortens tokens without losing text."""
    total = kept = 0
    for text in texts:
        total += len(_NOT_LETTER_OR_DIGIT.sub("", text))
        kept += sum(len(token) for token in tokenizer.tokenize(text))
    # NFKC can write one character as several ("ﬁ" -> "fi"): never above 1.
    return 1.0 if total == 0 else min(1.0, kept / total)


def check_tokenizer(
    references: Sequence[Sequence[str]] | Sequence[str], options: ScoringParams
) -> None:
    """Raise :class:`ConfigError` when rouge-score's default tokenizer (ASCII letters and digits
    only) would drop most of the references' letters and digits: perfect predictions in Chinese
    or Arabic would score 0. The message names the setting that scores them."""
    if options.tokenizer != "default":
        return  # the Unicode tokenizer keeps letters and digits of every script
    texts = [text for refs in references for text in ([refs] if isinstance(refs, str) else refs)]
    share = kept_share(texts, tokenizers.DefaultTokenizer(use_stemmer=False))
    if share < MIN_KEPT_SHARE:
        raise ConfigError(
            f"the default ROUGE tokenizer (rouge-score's: ASCII letters and digits only) keeps "
            f"{share:.0%} of the references' letters and digits, so every score would be near 0 "
            "whatever the predictions; for text that is not English set "
            "evaluate.scoring.tokenizer: unicode in params.yaml (summarizer score: --tokenizer "
            "unicode)"
        )
