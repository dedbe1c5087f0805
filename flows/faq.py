"""FAQ matching: which frequently asked question is the jongere asking, and how sure are we?

Each FAQ entry has several phrasings (`vragen`). The index compares a message with every phrasing,
using TF-IDF over character n-grams (tolerates typos and word forms) and over words (rewards the
same words), both on the content words only (stopwords left out, so "ik wil …" alone does not make
two questions alike), plus a smaller share of character n-grams over the whole phrasing (so "moet ik
nog naar school" and "moet ik weer naar school" stay apart). A message without content words is
compared on the whole phrasing only. The best phrasing decides the FAQ's score, 0..1.
A misspelt word of 6+ letters (one letter off, two in long words) is read as the closest known word.
Two checks keep precision high: a negation on one side only ("ik wil (niet) terug naar school")
lowers the score, and so does an FAQ whose topics do not include any topic found in the message.

Scores below `FAQ_THRESHOLD` are no match. Build one index per content version and reuse it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sklearn.feature_extraction.text import TfidfVectorizer

from data.content import FaqEntry
from flows.matching import content_words, has_letters, has_negation, words

FAQ_THRESHOLD: Final = 0.6
"""Below this score a FAQ is not an answer."""
FAQ_STRONG: Final = 0.8
"""From this surface similarity (nearly the same phrasing) a FAQ answer beats a topic answer."""
CHAR_WEIGHT: Final = 0.4
WORD_WEIGHT: Final = 0.4
FULL_WEIGHT: Final = 0.2
NEGATION_PENALTY: Final = 0.6
TOPIC_PENALTY: Final = 0.7
GENERAL_TOPICS: Final = frozenset({"netwerk"})
"""FAQ topics about the desk itself; they never clash with the topic of a message."""


@dataclass(frozen=True)
class FaqMatch:
    """The FAQ entry a message matches best, the score, the phrasing that matched and how alike they look.

    `surface` is the character similarity of the whole texts (stopwords included): near 1 means
    the jongere typed (nearly) this phrasing, so the FAQ is the better answer even when the NLU is
    sure of a topic.
    """

    entry: FaqEntry
    score: float
    variant: str
    surface: float = 0.0

    @property
    def strong(self) -> bool:
        """Tell whether the message is nearly one of the FAQ's own phrasings."""
        return self.surface >= FAQ_STRONG and self.score >= FAQ_THRESHOLD


class FaqIndex:
    """A search index over the phrasings of FAQ entries."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self.entries = list(entries)
        self._owner: list[int] = []
        self._variants: list[str] = []
        texts: list[str] = []
        fulls: list[str] = []
        negated: list[bool] = []
        for n, entry in enumerate(self.entries):
            for variant in entry.vragen:
                content, full = _forms(variant)
                if not full:
                    continue
                self._owner.append(n)
                self._variants.append(variant)
                texts.append(content or full)
                fulls.append(full)
                negated.append(has_negation(words(variant)))
        self._negated = np.asarray(negated, dtype=bool)
        self._vocabulary = sorted({w for text in texts for w in text.split() if len(w) >= 5})
        self._known = set(self._vocabulary)
        self._chars: TfidfVectorizer | None = None
        self._words: TfidfVectorizer | None = None
        self._full: TfidfVectorizer | None = None
        if texts:
            self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
            self._words = TfidfVectorizer(analyzer="word", sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
            self._full = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
            self._char_matrix = self._chars.fit_transform(texts)
            self._word_matrix = self._words.fit_transform(texts)
            self._full_matrix = self._full.fit_transform(fulls)

    def scores(self, text: str, topics: Collection[str] = ()) -> list[FaqMatch]:
        """Return the match with every entry that scores above 0, best first."""
        content, full = _forms(text)
        content = " ".join(self._spelled(w) for w in content.split())
        if self._chars is None or self._words is None or self._full is None or not has_letters(full):
            return []
        full_scores = (self._full_matrix @ self._full.transform([full]).T).toarray().ravel()
        if content:
            chars = (self._char_matrix @ self._chars.transform([content]).T).toarray().ravel()
            word_scores = (self._word_matrix @ self._words.transform([content]).T).toarray().ravel()
            combined = CHAR_WEIGHT * chars + WORD_WEIGHT * word_scores + FULL_WEIGHT * full_scores
        else:
            combined = full_scores
        combined = np.where(self._negated == has_negation(words(text)), combined, combined * NEGATION_PENALTY)
        best: dict[int, tuple[float, int]] = {}
        for found in np.flatnonzero(combined > 0):
            row = int(found)
            owner = self._owner[row]
            if owner not in best or combined[row] > best[owner][0]:
                best[owner] = (float(combined[row]), row)
        known = set(topics)
        out: list[FaqMatch] = []
        for owner, (score, at) in best.items():
            entry = self.entries[owner]
            if known and not known.intersection(entry.onderwerpen) and not GENERAL_TOPICS.intersection(
                    entry.onderwerpen):
                score *= TOPIC_PENALTY
            out.append(FaqMatch(entry, min(score, 1.0), self._variants[at], float(full_scores[at])))
        out.sort(key=lambda match: -match.score)
        return out

    def _spelled(self, word: str) -> str:
        """Return the known word a misspelt word most likely means, or the word itself."""
        if len(word) < 6 or word in self._known or not word.isalpha():
            return word
        allowed = 2 if len(word) >= 9 else 1
        hit = process.extractOne(word, self._vocabulary, scorer=Levenshtein.distance, score_cutoff=allowed)
        if hit is None or str(hit[0])[0] != word[0]:
            return word
        return str(hit[0])

    def best(self, text: str, topics: Collection[str] = (),
             threshold: float = FAQ_THRESHOLD) -> FaqMatch | None:
        """Return the best FAQ for `text` when its score reaches `threshold`, else None."""
        ranked = self.scores(text, topics)
        if not ranked or ranked[0].score < threshold:
            return None
        return ranked[0]


def _forms(text: str) -> tuple[str, str]:
    """Return the content words and all words (numbers left out) of a text, each joined by spaces."""
    tokens = [w for w in words(text) if not w.isdigit()]
    return " ".join(content_words(tokens)), " ".join(tokens)


def match_faq(entries: Sequence[FaqEntry], text: str, topics: Collection[str] = (),
              threshold: float = FAQ_THRESHOLD) -> FaqMatch | None:
    """Return the best FAQ for `text` (builds a throwaway index; keep a FaqIndex for repeated use)."""
    return FaqIndex(entries).best(text, topics, threshold)
