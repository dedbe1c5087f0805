"""Sociale-kaart search: which organisations and programmes fit this jongere and this question.

Pure functions over `KaartEntry` lists; nothing here touches the database or the conversation.

Rules, in this order (an entry that fails one is never offered):

1. Age. With a known age, an entry is offered only if the age lies within its (inclusive) limits:
   a 25-year-old never gets the RMC (up to 22). With an unknown age every entry may be offered;
   the answer flow first asks the age once when a candidate has a limit that matters for ages
   16-27 (`limits_age`). When the jongere would rather not say, `all_ages_only` keeps only entries
   that are open to every age from 16 up to and including 27.
2. Pupil-only programmes (`doelgroep_scholier`: they run through a school). Offered to jongeren of
   18 or younger; to older jongeren only when their message says they are at school now
   (`says_at_school`, e.g. "ik zit op het mbo", "mijn mentor"). With an unknown age they are
   offered but always after the other entries. With `all_ages_only` they are left out.
3. Crisis lines (`crisis`) only when the topic is crisis (the crisis check answers real crises
   before this code runs).
4. Relevance: entries on one of the topics, best first: the first topic counts most, an entry whose
   own first topic it is gets a bonus, entries with fewer topics are more specific, and text
   similarity (TF-IDF over naam, organisatie, onderwerpen and aanbod) adds to that. Without a topic,
   only entries the message clearly names (similarity >= NAME_MATCH) are offered. Ties keep the
   order of the content file.

Conditions are not filters: an entry with `vereist_uitkering` is offered, and the answer says that
it is for jongeren with (or applying for) a benefit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from data.content import KaartEntry
from flows.matching import fold, has_letters, match_text, words

SERVED_MIN_AGE: Final = 16
SERVED_MAX_AGE: Final = 27
PUPIL_MAX_AGE: Final = 18
AGE_MIN: Final = 12
AGE_MAX: Final = 99
NAME_MATCH: Final = 0.35
"""Without a topic, an entry must be this similar to the message to be offered."""
PRIMARY_TOPIC: Final = 1.0
OTHER_TOPIC: Final = 0.5
OWN_FIRST_TOPIC: Final = 0.2
SPECIFICITY: Final = 0.3
TEXT_WEIGHT: Final = 1.0

_AT_SCHOOL_RE: Final = re.compile(
    r"\b(?:ik zit (?:nu |nog |nu nog )?(?:op|in)|zit nog op|ik ga (?:nog )?naar school|op school|"
    r"mijn (?:school|mentor|klas|opleiding|stage|docent|leraar|lerares|studieloopbaanbegeleider|slb'?er)|"
    r"leerling|ik studeer|ik ben student|at school|in school|my (?:school|mentor|teacher|class|course)|"
    r"i study|i'?m a student|i am a student)\b")

# Topic words for when no NLU result is available (button turns, tests without a model).
# The NLU's `onderwerp` entities replace this when they are there.
TOPIC_KEYWORDS: Final[dict[str, str]] = {
    "schulden": "schulden", "schuld": "schulden", "geld": "schulden", "deurwaarder": "schulden",
    "rekeningen": "schulden", "debt": "schulden", "debts": "schulden", "money": "schulden",
    "wonen": "wonen", "woning": "wonen", "huis": "wonen", "kamer": "wonen", "dakloos": "wonen",
    "slaapplek": "wonen", "housing": "wonen", "homeless": "wonen",
    "werk": "werk", "werken": "werk", "baan": "werk", "job": "werk", "solliciteren": "werk", "work": "werk",
    "opleiding": "opleiding", "school": "opleiding", "diploma": "opleiding", "mbo": "opleiding",
    "studie": "opleiding", "startkwalificatie": "opleiding", "study": "opleiding",
    "uitkering": "uitkering", "bijstand": "uitkering", "benefit": "uitkering", "benefits": "uitkering",
    "gezondheid": "gezondheid", "ziek": "gezondheid", "huisarts": "gezondheid", "dokter": "gezondheid",
    "health": "gezondheid", "doctor": "gezondheid",
    "verslaving": "verslaving", "verslaafd": "verslaving", "drugs": "verslaving", "blowen": "verslaving",
    "gokken": "verslaving", "addiction": "verslaving",
    "zorgtaken": "zorgtaken", "mantelzorg": "zorgtaken", "mantelzorger": "zorgtaken",
    "justitie": "justitie", "strafblad": "justitie", "reclassering": "justitie", "taakstraf": "justitie",
}


def limits_age(entry: KaartEntry) -> bool:
    """Tell whether the entry's age limits exclude some age from 16 up to and including 27."""
    return ((entry.min_age is not None and entry.min_age > SERVED_MIN_AGE)
            or (entry.max_age is not None and entry.max_age < SERVED_MAX_AGE))


def open_to_all_ages(entry: KaartEntry) -> bool:
    """Tell whether every jongere from 16 up to and including 27 may use the entry."""
    return not limits_age(entry) and not entry.doelgroep_scholier


def says_at_school(text: str) -> bool:
    """Tell whether the message says the jongere goes to school now ("ik zit op het mbo", "mijn mentor")."""
    return _AT_SCHOOL_RE.search(" ".join(words(text))) is not None


def topics_from_keywords(text: str) -> list[str]:
    """Return the topics whose keywords occur in the text, in order of first mention."""
    found: list[str] = []
    for word in words(text):
        topic = TOPIC_KEYWORDS.get(word)
        if topic is not None and topic not in found:
            found.append(topic)
    return found


def eligible(entry: KaartEntry, *, age: int | None, all_ages_only: bool = False, at_school: bool = False,
             allow_crisis: bool = False) -> bool:
    """Tell whether the entry may be offered at all (rules 1-3 of this module)."""
    if entry.crisis and not allow_crisis:
        return False
    if all_ages_only and not open_to_all_ages(entry):
        return False
    if not entry.fits_age(age):
        return False
    return not (entry.doelgroep_scholier and age is not None and age > PUPIL_MAX_AGE and not at_school)


def demoted(entry: KaartEntry, *, age: int | None, at_school: bool = False) -> bool:
    """Tell whether the entry goes after the others: a pupil-only programme for a jongere of unknown age."""
    return entry.doelgroep_scholier and age is None and not at_school


class KaartIndex:
    """TF-IDF over what each entry is about, per language, for text similarity."""

    def __init__(self, entries: Sequence[KaartEntry]) -> None:
        self.entries = list(entries)
        self._position = {e.id: n for n, e in enumerate(self.entries)}
        self._vectorizers: dict[str, TfidfVectorizer] = {}
        self._matrices: dict[str, object] = {}
        for lang in ("nl", "en"):
            docs = [self._document(e, lang) for e in self.entries]
            if not any(docs):
                continue
            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
            self._matrices[lang] = vectorizer.fit_transform(docs)
            self._vectorizers[lang] = vectorizer

    @staticmethod
    def _document(entry: KaartEntry, lang: str) -> str:
        """Return the text that describes an entry in one language."""
        return match_text(" ".join([entry.naam, entry.organisatie, " ".join(entry.onderwerpen),
                                    entry.aanbod.in_lang(lang)]))

    def similarity(self, text: str, lang: str = "nl") -> dict[str, float]:
        """Return the similarity (0..1) of the text to every entry, by entry id."""
        key = "en" if lang.lower().startswith("en") else "nl"
        query = match_text(text)
        vectorizer = self._vectorizers.get(key)
        if vectorizer is None or not query or not has_letters(query):
            return {}
        scores = (self._matrices[key] @ vectorizer.transform([query]).T).toarray().ravel()  # type: ignore[operator]
        names = self.name_mentions(text)
        return {e.id: max(float(s), 1.0 if e.id in names else 0.0)
                for e, s in zip(self.entries, np.asarray(scores), strict=True)}

    def name_mentions(self, text: str) -> set[str]:
        """Return the ids of entries whose name (4+ letters) the text contains as words."""
        padded = f" {' '.join(words(text))} "
        found: set[str] = set()
        for entry in self.entries:
            short = re.split(r"\s[(–-]|\s\(|\(", entry.naam, maxsplit=1)[0]  # "Flevodrome (erkend …)"
            for name in {" ".join(words(entry.naam)), " ".join(words(short))}:
                if len(name) >= 4 and f" {name} " in padded:
                    found.add(entry.id)
        return found

    def position(self, entry: KaartEntry) -> int:
        """Return the entry's place in the content file (for stable ties)."""
        return self._position.get(entry.id, len(self._position))


@dataclass(frozen=True)
class Ranked:
    """One entry in a search result with its relevance score (higher is better)."""

    entry: KaartEntry
    score: float
    demoted: bool = False


def topic_score(entry: KaartEntry, topics: Sequence[str]) -> float:
    """Return how well the entry's topics fit the message's topics (0 when none fit)."""
    score = 0.0
    for n, topic in enumerate(topics):
        if topic in entry.onderwerpen:
            score += PRIMARY_TOPIC if n == 0 else OTHER_TOPIC
            if entry.onderwerpen[0] == topic:
                score += OWN_FIRST_TOPIC
    if score:
        score += SPECIFICITY / len(entry.onderwerpen)
    return score


def rank_scored(entries: Sequence[KaartEntry], topics: Sequence[str], age: int | None, text: str,
                lang: str = "nl", *, all_ages_only: bool = False, index: KaartIndex | None = None
                ) -> list[Ranked]:
    """Return the entries to offer for a question, best first, with their scores."""
    index = index if index is not None else KaartIndex(entries)
    at_school = says_at_school(text)
    similarity = index.similarity(text, lang)
    results: list[tuple[tuple[bool, float, int], Ranked]] = []
    for entry in entries:
        if not eligible(entry, age=age, all_ages_only=all_ages_only, at_school=at_school,
                        allow_crisis="crisis" in topics):
            continue
        by_topic = topic_score(entry, topics)
        by_text = similarity.get(entry.id, 0.0)
        if not by_topic and by_text < NAME_MATCH:
            continue
        score = round(by_topic + TEXT_WEIGHT * by_text, 4)
        low = demoted(entry, age=age, at_school=at_school)
        results.append(((low, -score, index.position(entry)), Ranked(entry, score, low)))
    results.sort(key=lambda item: item[0])
    return [ranked for _, ranked in results]


def rank(entries: Sequence[KaartEntry], topics: Sequence[str], age: int | None, text: str,
         lang: str = "nl", *, all_ages_only: bool = False,
         index: KaartIndex | None = None) -> list[KaartEntry]:
    """Return the entries to offer for a question, best first (see the module docstring for the rules)."""
    return [r.entry for r in rank_scored(entries, topics, age, text, lang, all_ages_only=all_ages_only,
                                         index=index)]


def filter_linked(entries: Sequence[KaartEntry], age: int | None, text: str = "", *,
                  all_ages_only: bool = False) -> list[KaartEntry]:
    """Return the entries an FAQ links to that may be offered, in the FAQ's order (pupil-only last if unsure).

    The redactie linked them on purpose, so crisis lines stay in; the age and pupil rules apply.
    """
    at_school = says_at_school(text)
    kept = [e for e in entries
            if eligible(e, age=age, all_ages_only=all_ages_only, at_school=at_school, allow_crisis=True)]
    return sorted(kept, key=lambda e: demoted(e, age=age, at_school=at_school))


def needs_age(entries: Sequence[KaartEntry]) -> bool:
    """Tell whether knowing the age would change which of these entries fit."""
    return any(limits_age(e) for e in entries)


_BARE_AGE_RE: Final = re.compile(
    r"^(?:ik ben |ben |i am |i'm |im |leeftijd:? |age:? )?(?P<age>\d{1,3})"
    r"(?: ?(?:jaar|jr|j|years?|yrs?|yo|y/o))?(?: ?(?:oud|old))?$")


def parse_age_reply(text: str) -> tuple[int | None, bool]:
    """Read an answer to "how old are you?": return (age or None, whether it was a number at all)."""
    folded = " ".join(fold(text).replace(".", " ").replace("!", " ").split())
    match = _BARE_AGE_RE.match(folded)
    if match is None:
        return None, False
    value = int(match.group("age"))
    return (value if AGE_MIN <= value <= AGE_MAX else None), True


def one_line(text: str, limit: int = 240) -> str:
    """Return the first sentence of a text (two when the first is very short), at most `limit` characters."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    line = sentences[0]
    if len(line) < 60 and len(sentences) > 1:
        line = f"{line} {sentences[1]}"
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"
