"""Text helpers shared by FAQ matching and sociale-kaart search: folding, words, stopwords, negation."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_QUERY_CHARS: Final = 500
"""Only this many leading characters of a message are used for matching."""

_WORD_RE: Final = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_LETTER_RE: Final = re.compile(r"[^\W\d_]")

# Function words of Dutch and English that say little about what a question is about. Negations and
# words of stance ("echt", "gewoon", "toch") are
# deliberately missing: "ik wil (niet) terug naar school" are different questions.
_STOPWORD_TEXT: Final = """
ik je jij u we wij ze zij hij het de een en of in op aan met voor van naar bij om te tot als dan dat
die dit wat is ben bent zijn was waren word wordt worden kan kun kunt kunnen mag moet moeten wil wilt
willen ga gaat gaan heb hebt heeft hebben had er hier daar nog al ook maar want dus mijn mij me jou
jouw jullie ons onze hun hoe waar wie waarom wanneer welke welk zo nu wel even eens
weer iets iemand graag hoi hallo hey
i you he she it we they a an the and or in on at to for of from with by as than that this what is am
are was be do does did can could may must want have has had there here still also but so my me your
our their how where who why when which now just really please hi hello get got
"""
STOPWORDS: Final[frozenset[str]] = frozenset(_STOPWORD_TEXT.split())

NEGATIONS: Final[frozenset[str]] = frozenset(
    {"niet", "geen", "nooit", "niks", "niets", "not", "no", "never", "don't", "dont", "can't", "cant",
     "won't", "nothing", "isn't", "doesn't"})


def fold(text: str) -> str:
    """Lowercase, strip accents and unify apostrophes."""
    text = text.casefold().replace("’", "'").replace("`", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Return the folded words of the first MAX_QUERY_CHARS characters."""
    return _WORD_RE.findall(fold(text[:MAX_QUERY_CHARS]))


def content_words(tokens: list[str]) -> list[str]:
    """Return the words that carry meaning: no stopwords, no bare numbers."""
    return [w for w in tokens if w not in STOPWORDS and not w.isdigit()]


def match_text(text: str) -> str:
    """Return the form of a text that matching uses: its content words, or all its words if none."""
    tokens = words(text)
    return " ".join(content_words(tokens) or [w for w in tokens if not w.isdigit()])


def has_negation(tokens: list[str]) -> bool:
    """Tell whether a negation word occurs."""
    return any(w in NEGATIONS for w in tokens)


def has_letters(text: str) -> bool:
    """Tell whether the text contains at least one letter."""
    return _LETTER_RE.search(text) is not None
