"""Rule-based entity extraction: age (`leeftijd`) and topic words (`onderwerp`) from lookup tables."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rapidfuzz import process
from rapidfuzz.distance import OSA

from nlu.normalise import MAX_CHARS, word_list, word_spans
from nlu.types import Entity

AGE_MIN = 12
AGE_MAX = 99
TOPIC_PREFIX = "onderwerp_"

# A two-digit number that is not part of a longer number, an amount, a time or a date.
_NUMBER_RE = re.compile(r"(?<![\d€$£.,:/\-])\d{2}(?!\d|[.,:/\-]\d)")
# What may come right before an age: "ik ben", "leeftijd:", "i'm", "ik word bijna" ...
_AGE_BEFORE_RE = re.compile(
    r"\b(?:ik\s+ben|ben|ik\s+word|word|i\s*'?\s*m|i\s+am|leeftijd|lft|age|aged)"
    r"(?:\s+(?:al|bijna|net|pas|nu|nog|is|inmiddels|now|just))?\s*[:=]?\s*\Z",
    re.IGNORECASE,
)
# Units that make a number after "ik ben" an amount, a duration or a measure instead of an age.
_NOT_AGE_UNIT_RE = re.compile(
    r"\s*(?:euro|eur\b|€|,-|uur|u\b|min|sec|dag|dagen|week|weken|maand|maanden|keer|x\b|%"
    r"|procent|km|kg|cm|m\b|pagina|punt|graden|man\b|mensen|stuks|brieven|cent)",
    re.IGNORECASE,
)
# "24 jaar", "24jr", "25 years old" (but not "15 jaar geleden").
_AGE_UNIT_RE = re.compile(
    r"\s*(?:jaar|jaartjes|jr|j|yo|y/o|yrs|yr|years?)(?:\s*(?:oud|old))?\b(?!\s*geleden)", re.IGNORECASE)
# "al 20 jaar", "sinds 15 jaar", "over 10 jaar" are durations.
_DURATION_BEFORE_RE = re.compile(r"\b(?:al|sinds|over|na|voor|in|ruim)\s\Z", re.IGNORECASE)
_WINDOW = 40

# Words that look like topic words but are ordinary Dutch; never fuzzy-match them.
_NO_FUZZ = frozenset({"schoon", "school", "werken", "sterk", "wonen", "zonen", "kinder", "binnen", "ziekte",
                      "zieke", "ziek", "dochter", "docent", "kamers", "kramer", "hulp", "huren", "buren"})


def extract_ages(text: str, max_chars: int = MAX_CHARS) -> list[Entity]:
    """Find plausible ages (12-99) such as 'ik ben 24', '24jr', "i'm 25" or 'leeftijd: 26'."""
    snippet = text[:max_chars]
    found: list[Entity] = []
    for match in _NUMBER_RE.finditer(snippet):
        value = int(match.group())
        if not AGE_MIN <= value <= AGE_MAX:
            continue
        start, end = match.span()
        before = snippet[max(0, start - _WINDOW):start]
        after = snippet[end:end + _WINDOW]
        named = _AGE_BEFORE_RE.search(before) is not None and _NOT_AGE_UNIT_RE.match(after) is None
        unit = _AGE_UNIT_RE.match(after) is not None and _DURATION_BEFORE_RE.search(before) is None
        if named or unit:
            found.append(Entity("leeftijd", value, start, end))
    return found


class TopicMatcher:
    """Find topic words from `onderwerp_*` lookup tables, tolerating a typo in words of 5+ letters."""

    def __init__(self, lookups: Mapping[str, Sequence[str]], min_fuzzy_len: int = 6) -> None:
        self.min_fuzzy_len = min_fuzzy_len
        self._phrases: dict[tuple[str, ...], str] = {}
        self._single: dict[str, str] = {}
        for name, values in lookups.items():
            if not name.startswith(TOPIC_PREFIX):
                continue
            topic = name[len(TOPIC_PREFIX):]
            for value in values:
                words = tuple(word_list(value))
                if len(words) == 1:
                    self._single.setdefault(words[0], topic)
                elif words:
                    self._phrases.setdefault(words, topic)
        self._longest = max((len(p) for p in self._phrases), default=1)
        self._phrase_starts = frozenset(p[0] for p in self._phrases)
        self._fuzzy_choices = [w for w in self._single if len(w) >= min_fuzzy_len]
        self._fuzzy_cache: dict[str, str | None] = {}

    @property
    def topics(self) -> list[str]:
        """Return the known topic names."""
        return sorted(set(self._single.values()) | set(self._phrases.values()))

    def _fuzzy(self, word: str) -> str | None:
        if len(word) < self.min_fuzzy_len - 1 or word in _NO_FUZZ or not word.isalpha():
            return None
        if word in self._fuzzy_cache:
            return self._fuzzy_cache[word]
        if len(self._fuzzy_cache) > 50_000:
            self._fuzzy_cache.clear()
        topic = self._fuzzy_cache[word] = self._fuzzy_lookup(word)
        return topic

    def _fuzzy_lookup(self, word: str) -> str | None:
        allowed = 2 if len(word) >= 10 else 1
        hit = process.extractOne(word, self._fuzzy_choices, scorer=OSA.distance, score_cutoff=allowed)
        if hit is None:
            return None
        candidate = str(hit[0])
        if candidate[0] != word[0] or abs(len(candidate) - len(word)) > allowed:
            return None
        return self._single[candidate]

    def _word_topic(self, word: str) -> str | None:
        topic = self._single.get(word)
        return topic if topic is not None else self._fuzzy(word)

    def find(self, text: str, folded: Sequence[str] | None = None) -> list[Entity]:
        """Return one `onderwerp` entity per topic mention (value = topic name); `folded` = word_list(text)."""
        words = list(folded) if folded is not None else word_list(text)
        unique = set(words)
        topic_of = {w: topic for w in unique if (topic := self._word_topic(w)) is not None}
        if not topic_of and unique.isdisjoint(self._phrase_starts):
            return []
        hits: list[tuple[str, int, int]] = []  # topic, first word, last word
        i = 0
        while i < len(words):
            size = self._phrase_at(words, i) if words[i] in self._phrase_starts else 0
            if size:
                hits.append((self._phrases[tuple(words[i:i + size])], i, i + size - 1))
                i += size
                continue
            topic = topic_of.get(words[i])
            if topic is not None:
                hits.append((topic, i, i))
            i += 1
        if not hits:
            return []
        positions = word_spans(text)
        return [Entity("onderwerp", topic, positions[first][0], positions[last][1]) for topic, first, last in hits]

    def _phrase_at(self, words: Sequence[str], i: int) -> int:
        """Return the length of the longest lookup phrase starting at word i (0 if none)."""
        for size in range(min(self._longest, len(words) - i), 1, -1):
            if tuple(words[i:i + size]) in self._phrases:
                return size
        return 0


class EntityExtractor:
    """Extract every entity the embedded engine knows about."""

    def __init__(self, lookups: Mapping[str, Sequence[str]] | None = None,
                 max_chars: int = MAX_CHARS) -> None:
        self.max_chars = max_chars
        self.topics = TopicMatcher(lookups or {})

    def extract(self, text: str, folded: Sequence[str] | None = None) -> tuple[Entity, ...]:
        """Return ages and topics found in `text` (`folded` = its word_list, if at hand), in order."""
        snippet = text[:self.max_chars]
        found = extract_ages(snippet, self.max_chars) + self.topics.find(snippet, folded)
        return tuple(sorted(found, key=lambda e: (e.start, e.entity)))
