"""The embedded NLU engine: char + word n-gram TF-IDF and topic features, a calibrated linear SVM.

Features: TF-IDF of character n-grams (char_wb, 2-5) and word 1-2-grams of the normalised text, plus
one indicator per topic found through the lookup tables (what Rasa's RegexFeaturizer does with
lookups). Classifier: a one-vs-rest linear SVM; its scores are turned into probabilities with a
softmax whose temperature is fitted on out-of-fold scores (temperature scaling), so that the
confidence means what it says and a single fallback threshold works.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from nlu.entities import EntityExtractor
from nlu.normalise import MAX_CHARS, Normaliser, has_letters, word_list
from nlu.training_data import TrainingData, load_training_data
from nlu.types import FALLBACK_INTENT, Entity, NluResult

DEFAULT_THRESHOLD = 0.4
"""Below this confidence the engine answers `nlu_fallback`."""

DEFAULT_MIN_COVERAGE = 0.45
"""Texts whose character n-grams were mostly never seen in training are gibberish: `nlu_fallback`."""

RANKING_SIZE = 5
WORD_CACHE_SIZE = 20_000


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    out: NDArray[np.float64] = exp / exp.sum(axis=-1, keepdims=True)
    return out


class _Model:
    """Fitted vectorisers plus a dense weight matrix.

    `scores` is the batch path (sparse matrices, used while training); `score_one` computes the same
    TF-IDF features by hand for one text, which avoids sklearn's per-call overhead on the hot path.
    """

    def __init__(self, char_vec: TfidfVectorizer, word_vec: TfidfVectorizer, weights: _Weights,
                 coef: NDArray[np.float64], intercept: NDArray[np.float64]) -> None:
        self.char_vec = char_vec
        self.word_vec = word_vec
        self.weights = weights
        self.coef_t = np.ascontiguousarray(coef.T)  # (n_features, n_classes)
        self.intercept = intercept
        self._char = (char_vec.build_analyzer(), char_vec.vocabulary_, char_vec.idf_, 0)
        self._word_grams: dict[str, tuple[NDArray[np.int_], NDArray[np.float64], int]] = {}
        self._word = (word_vec.build_analyzer(), word_vec.vocabulary_, word_vec.idf_,
                      len(char_vec.vocabulary_))
        self._topic_offset = len(char_vec.vocabulary_) + len(word_vec.vocabulary_)

    def features(self, texts: Sequence[str], topics: NDArray[np.float64]) -> sp.csr_matrix:
        """Return the stacked features of already normalised texts and their topic indicators."""
        return _stack(self.char_vec.transform(texts), self.word_vec.transform(texts), topics, self.weights)

    def scores(self, texts: Sequence[str], topics: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the raw linear scores, one row per text."""
        x = self.features(texts, topics)
        out: NDArray[np.float64] = np.asarray(x @ self.coef_t) + self.intercept
        return out

    def _word_tfidf(self, text: str) -> tuple[NDArray[np.int_], NDArray[np.float64]]:
        """Return the word n-gram features (indices, weighted L2-normalised sublinear TF-IDF values)."""
        analyse, vocab, idf, offset = self._word
        counts = Counter(analyse(text))
        index = np.array([vocab.get(g, -1) for g in counts], dtype=np.int_)
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        known = index >= 0
        index, tf = index[known], tf[known]
        values = (1.0 + np.log(tf)) * idf[index]
        norm = float(np.sqrt(values @ values)) or 1.0
        return index + offset, values * (self.weights.word / norm)

    def _grams_of_word(self, word: str) -> tuple[NDArray[np.int_], NDArray[np.float64], int]:
        """Return the known char n-gram indices of one word, their counts and the word's n-gram total."""
        cached = self._word_grams.get(word)
        if cached is None:
            analyse, vocab, _, _ = self._char
            grams = analyse(word)
            counts = Counter(grams)
            index = np.array([vocab.get(g, -1) for g in counts], dtype=np.int_)
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            known = index >= 0
            cached = (index[known], tf[known], len(grams))
            if len(self._word_grams) >= WORD_CACHE_SIZE:
                self._word_grams.clear()
            self._word_grams[word] = cached
        return cached

    def _char_tfidf(self, text: str) -> tuple[NDArray[np.int_], NDArray[np.float64], float]:
        """Return char_wb TF-IDF features (n-grams never cross words, so they add up per word) and coverage."""
        counts = Counter(text.split())
        if not counts:
            return np.zeros(0, dtype=np.int_), np.zeros(0), 0.0
        cache = self._word_grams
        entries = [cache.get(word) or self._grams_of_word(word) for word in counts]
        repeats = counts.values()
        total = sum(entry[2] * n for entry, n in zip(entries, repeats, strict=True))
        all_tf = np.concatenate([entry[1] if n == 1 else entry[1] * n
                                 for entry, n in zip(entries, repeats, strict=True)])
        index, inverse = np.unique(np.concatenate([entry[0] for entry in entries]), return_inverse=True)
        summed = np.bincount(inverse, weights=all_tf, minlength=len(index))
        values = (1.0 + np.log(summed)) * self._char[2][index]
        norm = float(np.sqrt(values @ values)) or 1.0
        return index, values / norm, float(all_tf.sum()) / total if total else 0.0

    def score_one(self, text: str, topic_indices: Sequence[int]) -> tuple[NDArray[np.float64], float]:
        """Return the raw scores of one normalised text and the share of its char n-grams seen in training."""
        c_idx, c_vals, coverage = self._char_tfidf(text)
        w_idx, w_vals = self._word_tfidf(text)
        t_idx = np.asarray(topic_indices, dtype=np.int_) + self._topic_offset
        idx = np.concatenate([c_idx, w_idx, t_idx])
        vals = np.concatenate([c_vals, w_vals, np.full(len(t_idx), self.weights.topic)])
        out: NDArray[np.float64] = vals @ self.coef_t[idx] + self.intercept
        return out, coverage


@dataclass(frozen=True)
class _Weights:
    word: float
    topic: float


def _stack(chars: sp.csr_matrix, words: sp.csr_matrix, topics: NDArray[np.float64],
           weights: _Weights) -> sp.csr_matrix:
    return sp.hstack([chars, words * weights.word, sp.csr_matrix(topics * weights.topic)], format="csr")


def _fit(texts: Sequence[str], topics: NDArray[np.float64], labels: NDArray[np.int_], n_classes: int,
         c: float, weights: _Weights, seed: int) -> _Model:
    char_vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False, sublinear_tf=True,
                               dtype=np.float64)
    word_vec = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=False, sublinear_tf=True,
                               token_pattern=r"\S+", dtype=np.float64)
    x = _stack(char_vec.fit_transform(texts), word_vec.fit_transform(texts), topics, weights)
    clf = LinearSVC(C=c, class_weight="balanced", random_state=seed)
    clf.fit(x, labels)
    classes = np.asarray(clf.classes_, dtype=np.int_)
    coef = np.zeros((n_classes, x.shape[1]))
    intercept = np.full(n_classes, -1e3)  # classes missing from a (tiny CV) fit can never win
    if len(classes) == 2:  # binary LinearSVC keeps one row; give the other class the opposite score
        coef[classes[1]], intercept[classes[1]] = clf.coef_[0], clf.intercept_[0]
        coef[classes[0]], intercept[classes[0]] = -clf.coef_[0], -clf.intercept_[0]
    else:
        coef[classes] = clf.coef_
        intercept[classes] = clf.intercept_
    return _Model(char_vec, word_vec, weights, coef, intercept)


@dataclass(frozen=True)
class _State:
    """Everything one trained model needs at parse time, swapped in as a whole after training."""

    intents: list[str]
    temperature: float
    model: _Model
    normaliser: Normaliser
    entities: EntityExtractor

    def topic_indices(self, entities: Sequence[Entity]) -> list[int]:
        """Return the feature positions of the topics among `entities`."""
        return _topic_indices(self.entities.topics.topics, entities)


def _topic_indices(topics: Sequence[str], entities: Sequence[Entity]) -> list[int]:
    return sorted({topics.index(e.value) for e in entities if e.entity == "onderwerp" and e.value in topics})


def _fit_temperature(scores: NDArray[np.float64], labels: NDArray[np.int_]) -> float:
    """Find the softmax temperature that minimises the negative log-likelihood of held-out scores."""
    def nll(log_t: float) -> float:
        probs = _softmax(scores / math.exp(log_t))
        picked = probs[np.arange(len(labels)), labels]
        return float(-np.log(np.clip(picked, 1e-12, None)).mean())

    result = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return float(math.exp(result.x))


class EmbeddedNLU:
    """Classify intents locally from Rasa-format training data; parse takes well under a millisecond."""

    def __init__(self, data: TrainingData | None = None, *, data_dir: Path | None = None,
                 threshold: float = DEFAULT_THRESHOLD, c: float = 1.0, word_weight: float = 1.0,
                 topic_weight: float = 0.4, min_coverage: float = DEFAULT_MIN_COVERAGE,
                 calibrate: bool = True, calibration_folds: int = 3, max_chars: int = MAX_CHARS,
                 seed: int = 0, train: bool = True) -> None:
        self.data = data if data is not None else load_training_data(data_dir)
        self.threshold = threshold
        self.min_coverage = min_coverage
        self.c = c
        self.weights = _Weights(word=word_weight, topic=topic_weight)
        self.calibrate = calibrate
        self.calibration_folds = calibration_folds
        self.max_chars = max_chars
        self.seed = seed
        self.train_seconds = 0.0
        self._state: _State | None = None
        if train:
            self.train()

    def train(self, data: TrainingData | None = None) -> float:
        """(Re)train from `data` (default: the data given at construction); return the seconds taken."""
        started = time.perf_counter()
        data = data if data is not None else self.data
        intents = [name for name, examples in data.intents.items() if examples]
        if len(intents) < 2:
            raise ValueError("training data needs at least two intents with examples")
        normaliser = Normaliser(data.synonyms, self.max_chars)
        entities = EntityExtractor(data.lookups, self.max_chars)
        index = {name: i for i, name in enumerate(intents)}
        examples = data.examples
        texts = [normaliser(ex.text) for ex in examples]
        topic_names = entities.topics.topics
        topics = np.zeros((len(examples), len(topic_names)))
        for row, ex in enumerate(examples):
            topics[row, _topic_indices(topic_names, entities.topics.find(ex.text))] = 1.0
        labels = np.asarray([index[ex.intent] for ex in examples], dtype=np.int_)
        temperature = 1.0
        if self.calibrate:
            temperature = self._calibrated_temperature(texts, topics, labels, len(intents))
        model = _fit(texts, topics, labels, len(intents), self.c, self.weights, self.seed)
        # Swap in the new state at once, so a concurrent parse sees either the old or the new model.
        self._state = _State(intents, temperature, model, normaliser, entities)
        self.data = data
        self.train_seconds = time.perf_counter() - started
        return self.train_seconds

    def _calibrated_temperature(self, texts: list[str], topics: NDArray[np.float64], labels: NDArray[np.int_],
                                n_classes: int) -> float:
        counts = np.bincount(labels, minlength=n_classes)
        folds = min(self.calibration_folds, int(counts[counts > 0].min()))
        if folds < 2:
            return 1.0
        scores = np.zeros((len(texts), n_classes))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
        for train_idx, test_idx in splitter.split(texts, labels):
            model = _fit([texts[i] for i in train_idx], topics[train_idx], labels[train_idx], n_classes,
                         self.c, self.weights, self.seed)
            scores[test_idx] = model.scores([texts[i] for i in test_idx], topics[test_idx])
        return _fit_temperature(scores, labels)

    @property
    def trained(self) -> bool:
        """Return whether a model is available."""
        return self._state is not None

    @property
    def intents(self) -> list[str]:
        """Return the intent names the model knows, in score order."""
        return list(self._current().intents)

    @property
    def temperature(self) -> float:
        """Return the fitted softmax temperature."""
        return self._current().temperature

    @property
    def normaliser(self) -> Normaliser:
        """Return the text normaliser of the current model."""
        return self._current().normaliser

    @property
    def entities(self) -> EntityExtractor:
        """Return the entity extractor of the current model."""
        return self._current().entities

    @property
    def topics(self) -> list[str]:
        """Return the topic names used as features."""
        return self._current().entities.topics.topics

    def _current(self) -> _State:
        state = self._state
        if state is None:
            raise RuntimeError("EmbeddedNLU is not trained")
        return state

    @staticmethod
    def _classify(state: _State, snippet: str, entities: Sequence[Entity],
                  folded: Sequence[str] | None = None) -> tuple[NDArray[np.float64], float] | None:
        normalised = state.normaliser(snippet, folded)
        if not normalised or not has_letters(normalised):
            return None
        scores, coverage = state.model.score_one(normalised, state.topic_indices(entities))
        return _softmax(scores / state.temperature), coverage

    def probabilities(self, text: str) -> dict[str, float]:
        """Return the calibrated probability of every intent for `text`."""
        state = self._current()
        snippet = text[:self.max_chars]
        found = self._classify(state, snippet, state.entities.topics.find(snippet))
        if found is None:
            return dict.fromkeys(state.intents, 0.0)
        return {name: float(p) for name, p in zip(state.intents, found[0], strict=True)}

    def parse(self, text: str) -> NluResult:
        """Classify `text` and extract its entities; low confidence or gibberish gives `nlu_fallback`."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        state = self._current()
        snippet = text[:self.max_chars]
        folded = word_list(snippet, self.max_chars)
        entities = state.entities.extract(snippet, folded)
        found = self._classify(state, snippet, entities, folded)
        if found is None:
            return NluResult(text=text, intent=FALLBACK_INTENT, confidence=0.0, entities=entities)
        probs, coverage = found
        top = np.argsort(probs)[::-1][:RANKING_SIZE]
        ranking = tuple((state.intents[i], float(probs[i])) for i in top)
        best, confidence = ranking[0]
        known = confidence >= self.threshold and coverage >= self.min_coverage
        return NluResult(text=text, intent=best if known else FALLBACK_INTENT, confidence=confidence,
                         entities=entities, ranking=ranking)
