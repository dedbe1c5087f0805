"""Crisis detection is recall-first: every crisis phrasing is caught, ordinary messages are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.crisis import CATEGORIES, CrisisDetector, CrisisLexicon, LexiconError
from nlu.engine import EmbeddedNLU
from nlu.training_data import TrainingData
from nlu.types import NluResult
from tests.nlu.heldout import CRISIS_HELDOUT, CRISIS_HELDOUT_2, ORDINARY


def test_held_out_crisis_phrasings_are_all_caught(engine: EmbeddedNLU, detector: CrisisDetector) -> None:
    assert len(CRISIS_HELDOUT) >= 30
    missed = [text for text in CRISIS_HELDOUT + CRISIS_HELDOUT_2 if detector.check(text, engine.parse(text)) is None]
    assert missed == []


def test_ordinary_messages_do_not_fire(engine: EmbeddedNLU, detector: CrisisDetector) -> None:
    assert len(ORDINARY) >= 40
    fired = {text: hit for text in ORDINARY if (hit := detector.check(text, engine.parse(text))) is not None}
    assert fired == {}


def test_every_crisis_training_example_is_caught(training_data: TrainingData, engine: EmbeddedNLU,
                                                 detector: CrisisDetector) -> None:
    texts = training_data.texts("crisis")
    assert [t for t in texts if detector.check(t, engine.parse(t)) is None] == []
    lexicon_only = CrisisDetector()
    assert [t for t in texts if lexicon_only.check(t) is None] == []


@pytest.mark.parametrize(("text", "category"), [
    ("ik wil dood", "suicide"),
    ("ik denk aan zelfmort", "suicide"),
    ("zelfmoordgedagtes", "suicide"),
    ("IK WIL ER NIET MEER ZIJNNNN", "suicide"),
    ("i want to kill myself", "suicide"),
    ("ik snij mezelf", "selfharm"),
    ("ik heb weer gekrast", "selfharm"),
    ("mn vader slaat me", "violence"),
    ("my boyfriend beats me", "violence"),
    ("ik word mishandelt", "violence"),
    ("bel 112", "acute_danger"),
    ("hij heeft een mes", "acute_danger"),
])
def test_lexicon_categories(detector: CrisisDetector, text: str, category: str) -> None:
    hit = detector.check(text)
    assert hit is not None
    assert (hit.reason, hit.category) == ("lexicon", category)
    assert hit.category in CATEGORIES


def test_figure_of_speech_is_ignored_but_not_what_follows(detector: CrisisDetector) -> None:
    assert detector.check("ik ga dood van het lachen") is None
    assert detector.check("haha ik lach me dood") is None
    hit = detector.check("ik ga dood van het lachen, maar serieus ik wil dood")
    assert hit is not None and hit.reason == "lexicon"


def test_classifier_catches_what_the_lexicon_misses() -> None:
    detector = CrisisDetector(CrisisLexicon({}), threshold=0.25)
    above = NluResult("x", "vraag_gezondheid", 0.6, ranking=(("vraag_gezondheid", 0.6), ("crisis", 0.3)))
    below = NluResult("x", "vraag_gezondheid", 0.8, ranking=(("vraag_gezondheid", 0.8), ("crisis", 0.2)))
    hit = detector.check("ik ga er een punt achter zetten", above)
    assert hit is not None
    assert (hit.reason, hit.matched, hit.score) == ("classifier", "crisis", 0.3)
    assert detector.check("ik ga er een punt achter zetten", below) is None
    assert detector.check("x", None) is None


def test_classifier_category_comes_from_hints() -> None:
    lexicon = CrisisLexicon({}, hints={"violence": ["slaat"], "suicide": ["leven"]})
    crisis = NluResult("x", "crisis", 0.9, ranking=(("crisis", 0.9),))
    detector = CrisisDetector(lexicon)
    assert detector.check("hij slaat", crisis).category == "violence"  # type: ignore[union-attr]
    assert detector.check("iets anders", crisis).category == "acute_danger"  # type: ignore[union-attr]


def test_detector_parses_itself_when_given_an_engine(engine: EmbeddedNLU) -> None:
    detector = CrisisDetector(CrisisLexicon({}), engine=engine)
    hit = detector.check("ik wil echt niet meer leven")
    assert hit is not None and hit.reason == "classifier"


def test_staff_can_extend_the_lexicon(tmp_path: Path) -> None:
    file = tmp_path / "lexicon.yml"
    file.write_text(
        "groups:\n  ik: [ik, k]\n"
        "crisis_lexicon:\n  suicide:\n    - '@ik ga * de pijp uit'\n  acute_danger:\n    - 'help nu $'\n"
        "not_crisis:\n  - 'pijp uit van het lachen'\n",
        encoding="utf-8")
    detector = CrisisDetector(CrisisLexicon.from_file(file))
    hit = detector.check("k ga vannacht de pijp uit")
    assert hit is not None and (hit.category, hit.matched) == ("suicide", "@ik ga * de pijp uit")
    assert detector.check("help nu") is not None
    assert detector.check("help nu met mn formulier") is None
    assert detector.check("ik ga de pijp uit van het lachen") is None


@pytest.mark.parametrize("phrases", [
    {"suicide": ["@onbekend wil dood"]},
    {"anders": ["ik wil dood"]},
    {"suicide": ["ik $ wil"]},
    {"suicide": ["*"]},
])
def test_bad_lexicon_is_rejected(phrases: dict[str, list[str]]) -> None:
    with pytest.raises(LexiconError):
        CrisisLexicon(phrases)


def test_protected_words_are_not_typos() -> None:
    lexicon = CrisisLexicon({"violence": ["ik ben gestompt"]})
    assert lexicon.match(["ik", "ben", "gestopt"]) is not None  # one typo away
    protected = lexicon.with_protected(["gestopt"])
    assert protected.match(["ik", "ben", "gestopt"]) is None
    assert protected.match(["ik", "ben", "gestompt"]) is not None
    assert lexicon.match(["ik", "ben", "gestopt"]) is not None  # the original is unchanged


def test_empty_and_huge_messages(detector: CrisisDetector) -> None:
    assert detector.check("") is None
    assert detector.check("😂" * 5000) is None
    assert detector.check("bla " * 3000 + "ik wil dood") is None  # beyond the analysed 1000 characters
    assert detector.check("ik wil dood " + "bla " * 3000) is not None
