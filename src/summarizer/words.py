"""The words of a text, as the degeneracy checks and the smoke test count them.

Whitespace separates words, except in scripts written without spaces: there every character is
a word of its own (Chinese characters and Japanese kana, as character-level scoring counts them),
so a Chinese sentence is not one "word" and a loop in it ("我我我我") is seen as one.
"""

from __future__ import annotations

import re

# The CJK ideographs (basic, extension A, compatibility, extensions B onwards) and kana.
CHARACTER_WORDS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_WORD = re.compile(rf"[{CHARACTER_WORDS}]|[^\s{CHARACTER_WORDS}]+")


def words(text: str) -> list[str]:
    """``text``'s words: whitespace-separated runs, each character of :data:`CHARACTER_WORDS`
    alone."""
    return _WORD.findall(text)
