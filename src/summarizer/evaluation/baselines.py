"""The extractive baselines every model score is reported beside: the first words or sentences of
the document. A model that does not beat them has learned little beyond copying the lead. For
translation, the document itself (``source``): a floor, not a rival, which only a model that has
learned nothing fails to beat."""

from __future__ import annotations

import re

from summarizer.config.evaluation import EvaluateParams
from summarizer.data.formats import join_sentences

# Tokens that end in a period but rarely end a sentence. Kept short on purpose: this is a
# baseline splitter, not a sentence segmenter.
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "jr.", "sr.", "gen.", "sen.", "rep.", "gov."}
    | {"lt.", "col.", "sgt.", "capt.", "vs.", "no.", "fig."}
)
# Tokens that close a sentence after its final punctuation: quotes and brackets, raw or in the
# PTB-escaped form of the tokenized datasets ('' and -rrb-).
_CLOSERS = frozenset(["''", "'", '"', "”", "’", ")", "]", "}", "-rrb-", "-rsb-", "-rcb-"])
_SENT_END_RE = re.compile(r"[.!?]+[\"'”’)\]}]*$")


def lead_words(document: str, n: int) -> str:
    """The first ``n`` whitespace tokens of ``document``, space-joined (headline baseline)."""
    if n < 1:
        raise ValueError(f"lead_words: n must be >= 1, got {n}")
    return " ".join(document.split()[:n])


def _ends_sentence(token: str) -> bool:
    if not _SENT_END_RE.search(token):
        return False
    lower = token.lower()
    if lower in _ABBREVIATIONS:
        return False
    # Initialisms such as "u.s." or "a.m.": a period inside the token means an abbreviation.
    core = lower.rstrip(".!?\"'”’)]}")
    return "." not in core


def split_sentences(document: str) -> list[str]:
    """Split a document into sentences, for tokenized (``"... end . next ..."``) or raw text.

    Rules: a newline always ends a sentence; so does a token ending in ``.``, ``!`` or ``?``
    (possibly followed by closing quotes/brackets, which stay with the sentence), except known
    title abbreviations (``mr.``) and initialisms (``u.s.``). Whitespace inside a sentence is
    normalised to single spaces. Abbreviations outside the short list (``inc.``) may split a
    sentence early; that is acceptable for a lead baseline.
    """
    sentences: list[str] = []
    for line in document.split("\n"):
        current: list[str] = []
        closing = False  # just saw a sentence end; attach following closer tokens, then cut
        for token in line.split():
            if closing and token.lower() in _CLOSERS:
                current.append(token)
                continue
            if closing:
                sentences.append(" ".join(current))
                current = []
                closing = False
            current.append(token)
            closing = _ends_sentence(token)
        if current:
            sentences.append(" ".join(current))
    return sentences


def lead_sentences(document: str, n: int = 3) -> str:
    """The first ``n`` sentences of ``document`` (see :func:`split_sentences`), newline-joined so
    that ROUGE-Lsum sees the sentence boundaries (the lead-3 baseline)."""
    if n < 1:
        raise ValueError(f"lead_sentences: n must be >= 1, got {n}")
    return join_sentences(split_sentences(document)[:n])


def baseline(document: str, params: EvaluateParams) -> str:
    """The baseline summary ``evaluate.baseline`` chooses, of ``evaluate.lead_n`` words or
    sentences, or the whole document (``source``: the floor a translation must beat)."""
    if params.baseline == "source":
        return document
    if params.baseline == "lead_words":
        return lead_words(document, params.lead_n)
    return lead_sentences(document, params.lead_n)
