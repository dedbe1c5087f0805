"""Text normalisation shared by the classifier, the entity extractor and the crisis detector."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

MAX_CHARS = 1000
"""Only this many leading characters of a message are analysed."""

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")
_HAS_LETTER_RE = re.compile(r"[^\W\d_]")


class Token(NamedTuple):
    """One word of a message: its folded form and its span in the original text."""

    norm: str
    start: int
    end: int


@lru_cache(maxsize=32_768)
def fold(text: str) -> str:
    """Lowercase, strip accents, unify apostrophes and squeeze letters repeated 3+ times to two."""
    if text.isascii():
        return _REPEAT_RE.sub(r"\1\1", text.lower().replace("`", "'"))
    text = text.casefold().replace("’", "'").replace("`", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _REPEAT_RE.sub(r"\1\1", stripped)


def tokenize(text: str, max_chars: int = MAX_CHARS) -> list[Token]:
    """Split the first `max_chars` characters into folded word tokens with their spans."""
    return [Token(fold(m.group()), m.start(), m.end()) for m in _TOKEN_RE.finditer(text[:max_chars])]


def word_list(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Return the folded words of the first `max_chars` characters (tokenize without the spans)."""
    return [fold(w) for w in _TOKEN_RE.findall(text[:max_chars])]


def word_spans(text: str, max_chars: int = MAX_CHARS) -> list[tuple[int, int]]:
    """Return the (start, end) of every word that `word_list` returns, in the same order."""
    return [m.span() for m in _TOKEN_RE.finditer(text[:max_chars])]


def has_letters(text: str) -> bool:
    """Return whether the text contains at least one letter."""
    return _HAS_LETTER_RE.search(text) is not None


class Normaliser:
    """Turn raw text into the canonical string the classifier sees (folded, synonyms applied)."""

    def __init__(self, synonyms: Mapping[str, str] | None = None, max_chars: int = MAX_CHARS) -> None:
        self.max_chars = max_chars
        self._synonyms: dict[tuple[str, ...], tuple[str, ...]] = {}
        for variant, canonical in (synonyms or {}).items():
            key = tuple(word_list(variant))
            value = tuple(word_list(canonical))
            if key and value and key != value:
                self._synonyms[key] = value
        self._longest = max((len(k) for k in self._synonyms), default=0)
        self._starts = frozenset(k[0] for k in self._synonyms)

    def words(self, text: str, folded: Sequence[str] | None = None) -> list[str]:
        """Return the folded words of `text` (or the given `folded` words) with synonyms replaced."""
        found = list(folded) if folded is not None else word_list(text, self.max_chars)
        if not self._synonyms:
            return found
        out: list[str] = []
        i = 0
        while i < len(found):
            if found[i] not in self._starts:
                out.append(found[i])
                i += 1
                continue
            for size in range(min(self._longest, len(found) - i), 0, -1):
                replacement = self._synonyms.get(tuple(found[i:i + size]))
                if replacement is not None:
                    out.extend(replacement)
                    i += size
                    break
            else:
                out.append(found[i])
                i += 1
        return out

    def __call__(self, text: str, folded: Sequence[str] | None = None) -> str:
        """Return the normalised text as one space-separated string."""
        return " ".join(self.words(text, folded))
