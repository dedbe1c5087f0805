"""FAQ matching (flows.faq): every phrasing finds its FAQ, near phrasings too, unrelated texts find nothing."""

from __future__ import annotations

from datetime import date

import pytest

from data.content import FaqEntry, Translated, load_faq
from flows.faq import FAQ_THRESHOLD, FaqIndex, match_faq

FAQ = load_faq()
INDEX = FaqIndex(FAQ)


@pytest.mark.parametrize("entry", FAQ, ids=[f.id for f in FAQ])
def test_every_phrasing_matches_its_own_faq(entry: FaqEntry):
    for variant in entry.vragen:
        match = INDEX.best(variant)
        assert match is not None, variant
        assert match.entry.id == entry.id, (variant, match.entry.id)
        assert match.score >= 0.99 and match.strong


@pytest.mark.parametrize("entry", FAQ, ids=[f.id for f in FAQ])
def test_phrasings_match_also_in_capitals_with_punctuation_and_on_their_own_topic(entry: FaqEntry):
    for variant in entry.vragen:
        match = INDEX.best(f"  {variant.upper()}?!", topics=entry.onderwerpen)
        assert match is not None and match.entry.id == entry.id, variant


@pytest.mark.parametrize("text, expected", [
    ("Ik heb SCHULDEN!!", "schulden-hulp"),
    ("ik heb schuldenn", "schulden-hulp"),
    ("i have debts", "schulden-hulp"),
    ("ik heb een strafblad", "strafblad-vog"),
    ("mijn uitkering is gestopt, wat nu", "uitkering-gestopt-bezwaar"),
    ("heb ik eigenlijk een startkwalificatie?", "wat-is-startkwalificatie"),
    ("ik zorg voor mijn zieke moeder", "mantelzorg"),
    ("wat is de entree opleiding", "wat-is-entree"),
    ("is het gratis?", "wat-kost-het"),
])
def test_near_phrasings_find_their_faq(text: str, expected: str):
    match = INDEX.best(text)
    assert match is not None and match.entry.id == expected, match


@pytest.mark.parametrize("text", [
    "wat is het weer vandaag", "ik heb honger", "kan ik hier een auto kopen", "wie heeft de wedstrijd gewonnen",
    "ik ben 24", "asdf qwer", "hallo is there kapsalon open morgen", "what is the meaning of life",
])
def test_unrelated_texts_find_nothing(text: str):
    assert INDEX.best(text) is None


@pytest.mark.parametrize("text", ["bla " * 2500, "x" * 10_000, "🙂🙂🙂", "🎉", "12345", "0612345678 12", "", "   ",
                                  "?!?!", "日本語のテキスト"])
def test_odd_input_finds_nothing_and_raises_nothing(text: str):
    assert INDEX.best(text) is None


def test_one_sided_negation_is_not_the_same_question():
    match = INDEX.best("ik wil terug naar school")
    assert match is None or match.entry.id != "niet-terug-naar-school"
    assert INDEX.best("ik wil niet terug naar school").entry.id == "niet-terug-naar-school"  # type: ignore[union-attr]


def test_a_faq_on_another_topic_needs_a_better_match():
    text = "ik heb schulden en weet niet wat te doen"
    match = INDEX.best(text, topics=["schulden"])
    assert match is None or match.entry.id != "weet-niet-wat-ik-wil"
    scores = {m.entry.id: m.score for m in INDEX.scores(text)}
    penalised = {m.entry.id: m.score for m in INDEX.scores(text, topics=["schulden"])}
    assert penalised["weet-niet-wat-ik-wil"] < scores["weet-niet-wat-ik-wil"]


def test_surface_similarity_tells_a_retyped_phrasing_from_a_paraphrase():
    same = INDEX.best("ik heb schulden")
    assert same is not None and same.strong
    loose = INDEX.scores("ik wil weer naar school")[0]
    assert not loose.strong


def test_scores_are_sorted_and_bounded():
    scores = [m.score for m in INDEX.scores("hulp bij schulden en geld")]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


def test_threshold_and_empty_index():
    assert FaqIndex([]).best("ik heb schulden") is None
    assert match_faq(FAQ, "ik heb schulden").entry.id == "schulden-hulp"  # type: ignore[union-attr]
    assert match_faq(FAQ, "ik heb schulden", threshold=1.01) is None
    assert 0 < FAQ_THRESHOLD < 1


def test_an_index_on_new_content_knows_the_new_phrasing():
    extra = FaqEntry(id="fietsenstalling", onderwerpen=["netwerk"], vragen=["waar kan ik mijn fiets stallen"],
                     antwoord=Translated(nl="Bij het station.", en="At the station."), last_checked=date(2026, 11, 28))
    assert INDEX.best("waar kan ik mijn fiets stallen") is None
    assert FaqIndex([*FAQ, extra]).best("waar kan ik mijn fiets stallen").entry.id == "fietsenstalling"  # type: ignore[union-attr]
