"""Recall-first crisis detection: an editable phrase lexicon with typo tolerance plus the classifier."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from nlu.normalise import MAX_CHARS, fold, word_list
from nlu.training_data import DATA_DIR, TrainingData
from nlu.types import NluEngine, NluResult

LEXICON_FILE = DATA_DIR / "crisis_lexicon.yml"
CATEGORIES = ("suicide", "selfharm", "violence", "acute_danger")
DEFAULT_CATEGORY = "acute_danger"
CRISIS_INTENT = "crisis"
DEFAULT_CLASSIFIER_THRESHOLD = 0.25
GAP_WORDS = 3
FUZZY_MIN_LEN = 6
FUZZY_TWO_TYPOS_LEN = 10
PARTIAL_MIN_LEN = 15
PARTIAL_CUTOFF = 90.0
MIN_WORDS_AFTER_EXCLUSION = 3
THRESHOLD_AFTER_EXCLUSION = 0.5


class LexiconError(ValueError):
    """The crisis lexicon file is malformed."""


@dataclass(frozen=True)
class CrisisHit:
    """Why a message was flagged as a crisis."""

    reason: str  # "lexicon" or "classifier"
    matched: str  # the lexicon phrase, or the intent name
    category: str  # one of CATEGORIES
    score: float = 1.0


@dataclass(frozen=True)
class _Word:
    words: frozenset[str]
    prefixes: tuple[str, ...]

    def index_keys(self) -> Iterable[str]:
        yield from self.words
        yield from (p + "*" for p in self.prefixes)

    def accepts(self, lexemes: frozenset[str]) -> bool:
        return not self.words.isdisjoint(lexemes) or any(p + "*" in lexemes for p in self.prefixes)


@dataclass(frozen=True)
class _Gap:
    most: int


@dataclass(frozen=True)
class _End:
    pass


_Element = _Word | _Gap | _End


@dataclass(frozen=True)
class _Pattern:
    source: str
    category: str
    elements: tuple[_Element, ...]

    @property
    def plain(self) -> str | None:
        """Return the phrase as plain text when it is a simple word sequence, else None."""
        words: list[str] = []
        for el in self.elements:
            if not isinstance(el, _Word) or el.prefixes or len(el.words) != 1:
                return None
            words.extend(el.words)
        return " ".join(words)


def _fold_word(word: str) -> str:
    return " ".join(word_list(word)) if word not in {"*", "$"} else word


def _compile(source: str, category: str, groups: Mapping[str, Sequence[str]]) -> _Pattern:
    elements: list[_Element] = []
    for raw in source.split():
        if raw == "*":
            elements.append(_Gap(GAP_WORDS))
            continue
        if raw == "$":
            elements.append(_End())
            continue
        words: set[str] = set()
        prefixes: list[str] = []
        for option in raw.split("|"):
            options = [option]
            if option.startswith("@"):
                if option[1:] not in groups:
                    raise LexiconError(f"unknown group {option!r} in phrase {source!r}")
                options = list(groups[option[1:]])
            for opt in options:
                if opt.endswith("*") and len(opt) > 1:
                    prefixes.append(fold(opt[:-1]))
                else:
                    folded = _fold_word(opt)
                    if " " in folded:
                        raise LexiconError(f"one word per alternative, got {opt!r} in {source!r}")
                    if folded:
                        words.add(folded)
        elements.append(_Word(frozenset(words), tuple(prefixes)))
    while elements and isinstance(elements[0], _Gap):
        elements.pop(0)
    while elements and isinstance(elements[-1], _Gap):
        elements.pop()
    if not elements or not isinstance(elements[0], _Word):
        raise LexiconError(f"phrase must start with a word: {source!r}")
    if any(isinstance(el, _End) for el in elements[:-1]):
        raise LexiconError(f"'$' may only end a phrase: {source!r}")
    return _Pattern(source, category, tuple(elements))


def _fuzzy_prefix(token: str, prefix: str) -> bool:
    """Return whether `token` starts with `prefix` give or take one typo (prefixes of 6+ letters)."""
    if len(prefix) < FUZZY_MIN_LEN or len(token) < len(prefix) - 1:
        return False
    return any(OSA.distance(token[:n], prefix) <= 1 for n in (len(prefix) - 1, len(prefix), len(prefix) + 1))


def _match_from(elements: Sequence[_Element], k: int, lexemes: Sequence[frozenset[str]], i: int) -> int:
    """Return the token index after a match of elements[k:] starting at token i, or -1."""
    if k == len(elements):
        return i
    el = elements[k]
    if isinstance(el, _End):
        return i if i == len(lexemes) else -1
    if isinstance(el, _Gap):
        for skip in range(min(el.most, len(lexemes) - i) + 1):
            end = _match_from(elements, k + 1, lexemes, i + skip)
            if end >= 0:
                return end
        return -1
    if i < len(lexemes) and el.accepts(lexemes[i]):
        return _match_from(elements, k + 1, lexemes, i + 1)
    return -1


class _PatternSet:
    """A set of compiled phrases with an index on their first word."""

    def __init__(self, patterns: Sequence[_Pattern]) -> None:
        self.patterns = list(patterns)
        self.by_key: dict[str, list[_Pattern]] = {}
        for pattern in self.patterns:
            first = pattern.elements[0]
            assert isinstance(first, _Word)
            for key in first.index_keys():
                self.by_key.setdefault(key, []).append(pattern)

    def find(self, lexemes: Sequence[frozenset[str]]) -> tuple[_Pattern, int, int] | None:
        """Return the first pattern that matches, with its token span."""
        for i, options in enumerate(lexemes):
            for key in options:
                for pattern in self.by_key.get(key, ()):
                    end = _match_from(pattern.elements, 0, lexemes, i)
                    if end >= 0:
                        return pattern, i, end
        return None


class CrisisLexicon:
    """Crisis phrases per category, figures of speech to ignore, and category hints."""

    def __init__(self, phrases: Mapping[str, Sequence[str]], *,
                 groups: Mapping[str, Sequence[str]] | None = None, not_crisis: Sequence[str] = (),
                 hints: Mapping[str, Sequence[str]] | None = None,
                 not_typos: Iterable[str] = ()) -> None:
        groups = {name: [str(v) for v in values] for name, values in (groups or {}).items()}
        patterns = [_compile(str(p), category, groups) for category, items in phrases.items() for p in items]
        unknown = {p.category for p in patterns} - set(CATEGORIES)
        if unknown:
            raise LexiconError(f"unknown crisis categories: {sorted(unknown)}")
        self.patterns = _PatternSet(patterns)
        self.exclusions = _PatternSet([_compile(str(p), "none", groups) for p in not_crisis])
        self.hints = _PatternSet([_compile(str(w), category, groups)
                                  for category, words in (hints or {}).items() for w in words])
        plain = [(text, p) for p in patterns if (text := p.plain) and len(text) >= PARTIAL_MIN_LEN]
        self._plain = sorted(plain, key=lambda item: len(item[0]))
        vocab: set[str] = set()
        prefixes: set[str] = set()
        for pattern_set in (self.patterns, self.exclusions, self.hints):
            for pattern in pattern_set.patterns:
                for el in pattern.elements:
                    if isinstance(el, _Word):
                        vocab.update(el.words)
                        prefixes.update(el.prefixes)
        self._vocab = vocab
        self._fuzzy_vocab = sorted(w for w in vocab if len(w) >= FUZZY_MIN_LEN and w.isalpha())
        self._prefixes = sorted(prefixes)
        self._protected: set[str] = set()
        self._cache: dict[str, frozenset[str]] = {}
        self.protect(not_typos)

    def with_protected(self, words: Iterable[str]) -> CrisisLexicon:
        """Return a copy that also protects `words` (this lexicon is left unchanged)."""
        clone = copy.copy(self)
        clone._protected = set(self._protected)
        clone._cache = {}
        clone.protect(words)
        return clone

    def protect(self, words: Iterable[str]) -> None:
        """Never treat these ordinary words as typos of lexicon words (lexicon words stay matchable)."""
        for word in words:
            self._protected.update(word_list(str(word)))
        self._protected -= self._vocab
        self._cache.clear()

    @classmethod
    def from_file(cls, path: Path | str | None = None) -> CrisisLexicon:
        """Load the lexicon from YAML (default: the file shipped in nlu/data)."""
        file = Path(path) if path is not None else LEXICON_FILE
        with file.open(encoding="utf-8") as fh:
            content: Any = yaml.safe_load(fh) or {}
        if not isinstance(content, dict) or not isinstance(content.get("crisis_lexicon"), dict):
            raise LexiconError(f"{file}: needs a 'crisis_lexicon' mapping of category -> phrases")
        return cls(content["crisis_lexicon"], groups=content.get("groups") or {},
                   not_crisis=content.get("not_crisis") or [], hints=content.get("hints") or {},
                   not_typos=content.get("not_typos") or [])

    def __len__(self) -> int:
        return len(self.patterns.patterns)

    def _lexemes(self, token: str) -> frozenset[str]:
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        found = {token}
        fuzzy = token not in self._vocab and token not in self._protected
        if fuzzy and len(token) >= FUZZY_MIN_LEN and token.isalpha():
            allowed = 2 if len(token) >= FUZZY_TWO_TYPOS_LEN else 1
            for word, distance, _ in process.extract(token, self._fuzzy_vocab, scorer=OSA.distance,
                                                     score_cutoff=allowed, limit=None):
                if distance <= (2 if len(word) >= FUZZY_TWO_TYPOS_LEN else 1):
                    found.add(str(word))
        for prefix in self._prefixes:
            if token.startswith(prefix) or (fuzzy and _fuzzy_prefix(token, prefix)):
                found.add(prefix + "*")
        result = frozenset(found)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[token] = result
        return result

    def words(self, text: str, max_chars: int = MAX_CHARS) -> tuple[list[str], bool]:
        """Return the folded words of `text` with figures of speech removed, and whether any were."""
        words = word_list(text, max_chars)
        removed = False
        while True:
            hit = self.exclusions.find([self._lexemes(w) for w in words])
            if hit is None:
                return words, removed
            _, start, end = hit
            words = words[:start] + words[max(end, start + 1):]
            removed = True

    def match(self, words: Sequence[str]) -> tuple[str, str] | None:
        """Return (category, phrase) of the first crisis phrase found in `words`, else None."""
        if not words:
            return None
        hit = self.patterns.find([self._lexemes(w) for w in words])
        if hit is not None:
            return hit[0].category, hit[0].source
        # Approximate matching of longer phrases; protected words are masked so they cannot pass as typos.
        text = " ".join("#" * len(w) if w in self._protected else w for w in words)
        candidates = [item for item in self._plain if len(item[0]) <= len(text) + 2]
        if candidates:
            best = process.extractOne(text, [c[0] for c in candidates], scorer=fuzz.partial_ratio,
                                      score_cutoff=PARTIAL_CUTOFF)
            if best is not None:
                pattern = candidates[best[2]][1]
                return pattern.category, pattern.source
        return None

    def guess_category(self, words: Sequence[str]) -> str:
        """Return the category whose hint words occur in `words` (default: acute_danger)."""
        lexemes = [self._lexemes(w) for w in words]
        counts = dict.fromkeys(CATEGORIES, 0)
        for pattern in self.hints.patterns:
            if any(_match_from(pattern.elements, 0, lexemes, i) >= 0 for i in range(len(lexemes))):
                counts[pattern.category] += 1
        best = max(CATEGORIES, key=lambda c: counts[c])
        return best if counts[best] > 0 else DEFAULT_CATEGORY


def ordinary_words(data: TrainingData, crisis_intent: str = CRISIS_INTENT) -> set[str]:
    """Return the words used in the non-crisis training examples."""
    return {t for name, examples in data.intents.items() if name != crisis_intent
            for ex in examples for t in word_list(ex.text)}


def crisis_probability(result: NluResult | None, intent: str = CRISIS_INTENT) -> float:
    """Return the classifier's probability for the crisis intent in `result` (0.0 if absent)."""
    if result is None:
        return 0.0
    for name, score in result.ranking:
        if name == intent:
            return float(score)
    return float(result.confidence) if result.intent == intent else 0.0


SINGLE_WORD_THRESHOLD = 0.5


class CrisisDetector:
    """Flag crisis messages: lexicon first, then the classifier's crisis probability above a low bar."""

    def __init__(self, lexicon: CrisisLexicon | None = None, *,
                 threshold: float = DEFAULT_CLASSIFIER_THRESHOLD, engine: NluEngine | None = None,
                 intent: str = CRISIS_INTENT, max_chars: int = MAX_CHARS) -> None:
        self.lexicon = lexicon if lexicon is not None else CrisisLexicon.from_file()
        data = getattr(engine, "data", None)
        if isinstance(data, TrainingData):
            self.lexicon = self.lexicon.with_protected(ordinary_words(data, intent))
        self.threshold = threshold
        self.engine = engine
        self.intent = intent
        self.max_chars = max_chars

    def check(self, text: str, nlu_result: NluResult | None = None) -> CrisisHit | None:
        """Return why `text` is a crisis message, or None; `nlu_result` is the classifier's view of it."""
        if not text:
            return None
        words, removed = self.lexicon.words(text, self.max_chars)
        found = self.lexicon.match(words)
        if found is not None:
            return CrisisHit(reason="lexicon", matched=found[1], category=found[0])
        threshold = self.threshold
        if removed:
            # A figure of speech was removed: the classifier judges only what is left, only when enough
            # is left to judge (fragments like "ik ga" say nothing), and needs more certainty.
            threshold = max(self.threshold, THRESHOLD_AFTER_EXCLUSION)
            enough = len(words) >= MIN_WORDS_AFTER_EXCLUSION
            nlu_result = self.engine.parse(" ".join(words)) if self.engine is not None and enough else None
        elif nlu_result is None and self.engine is not None:
            nlu_result = self.engine.parse(text)
        if len(words) <= 1:
            # One word the lexicon does not know ("misschien", "nee") spreads the classifier's
            # probabilities thin: a crisis word would be in the lexicon, so ask for more certainty.
            threshold = max(threshold, SINGLE_WORD_THRESHOLD)
        probability = crisis_probability(nlu_result, self.intent)
        if probability >= threshold:
            return CrisisHit(reason="classifier", matched=self.intent,
                             category=self.lexicon.guess_category(words), score=probability)
        return None
