"""The pieces a model card is written with: Markdown escaping of text that comes from data,
numbers and labels, tables, and reading scores out of ``evaluation.json``'s entries.

Text from data (documents, references, predictions, names) is escaped: a dataset row holding
Markdown or HTML must show as text, never become a link, an image that calls a server when the
page opens, or markup in the registry's pages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from summarizer.registry.model_card import ModelCard

EXAMPLE_WORDS = 60  # of a document shown in the card: a news article's lead, not all of it
INTERVAL_SUFFIXES = ("_low", "_high")

_LABELS = {
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rougeLsum": "ROUGE-Lsum",
    "bleu": "BLEU",
    "chrf": "chrF",
}
# Escaped wherever data text goes: inline markup and tables. Line-start markup (#, -, >, 1.)
# cannot occur: data text never starts a line of the card.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]|~])")


# --------------------------------------------------------------------------------- formatting
def escape(text: str) -> str:
    """``text`` as literal Markdown on one line: HTML and Markdown punctuation escaped."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(flat, quote=False))


def label(key: str) -> str:
    """``rougeL_f`` -> ``ROUGE-L``; ``bleu`` -> ``BLEU``; other keys as they are."""
    return _LABELS.get(key.removesuffix("_f"), key)


def number(value: Any, digits: int = 2) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value:.{digits}f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def clip_words(text: str, words: int = EXAMPLE_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


# --------------------------------------------------------------------------- scores by name
def scored_keys(scores: Mapping[str, Any]) -> list[str]:
    """The point estimates of a score entry (``rouge1_f``, ``bleu``), in the order scored: F1
    and corpus metrics, not their bounds, precision, recall or counts."""
    return [
        key
        for key in scores
        if (key.endswith("_f") or key.removesuffix("_f") in ("bleu", "chrf"))
        and isinstance(scores[key], (int, float))
    ]


def interval(scores: Mapping[str, Any], key: str) -> str:
    low, high = (scores.get(f"{key}{suffix}") for suffix in INTERVAL_SUFFIXES)
    return f"{number(low)}–{number(high)}" if low is not None and high is not None else "-"


def test_scores(card: ModelCard) -> dict[str, Any]:
    return dict(card.evaluation.get("test") or {})


def baseline_scores(card: ModelCard) -> dict[str, Any]:
    return dict(card.evaluation.get(f"baseline_{card.baseline}") or {}) if card.baseline else {}
