"""Pure parts of the redactie's pages: question groups, Dutch messages, the six-month check."""

from __future__ import annotations

from datetime import UTC, date, datetime

from coach_console.redactie import dutch, group_questions, months_before, needs_check, similar
from data.content import load_kaart
from data.models import UnansweredQuestion


def _q(qid: int, text: str, count: int = 1) -> UnansweredQuestion:
    return UnansweredQuestion(id=qid, key=str(qid), text=text, language="nl", count=count,
                              created_at=datetime(2026, 11, 1, tzinfo=UTC),
                              last_seen_at=datetime(2026, 11, 2, tzinfo=UTC))


def test_similar_questions_are_grouped_with_their_counts() -> None:
    groups = group_questions([
        _q(1, "waar kan ik gratis sporten", 2), _q(2, "Waar kan ik gratis sporten in Almere?", 3),
        _q(3, "mag mijn hond mee naar de opvang", 1), _q(4, "mag mn hond mee in de opvang", 1),
        _q(5, "sporten", 4), _q(6, "hoe laat is het", 1)])
    assert [(g.title, g.total, sorted(g.ids)) for g in groups] == [
        ("Waar kan ik gratis sporten in Almere?", 5, [1, 2]),
        ("sporten", 4, [5]),  # one word inside a long question is not the same question
        ("mag mijn hond mee naar de opvang", 2, [3, 4]),
        ("hoe laat is het", 1, [6])]
    assert similar("Hoe vraag ik bijstand aan?", "hoe vraag ik bijstand aan")
    assert not similar("hoe vraag ik bijstand aan", "hoe vraag ik een huurtoeslag aan bij de belasting")
    assert group_questions([]) == []


def test_validation_problems_read_as_plain_dutch() -> None:
    assert dutch("kaart[x]: min_age 27 > max_age 23").text == \
        "De minimumleeftijd (27) is hoger dan de maximumleeftijd (23)."
    assert dutch("kaart[x].voorwaarden[0]: empty nl text").text == "Voorwaarde 1 heeft geen Nederlandse tekst."
    assert dutch("faq[x]: unknown kaart id 'weg'").field == "kaart"
    assert dutch("kaart[x]: unknown onderwerp 'ruimte'").text.startswith("Het onderwerp 'ruimte' kennen we niet")
    assert dutch("iets anders").text == "iets anders"


def test_entries_not_checked_for_six_months_are_flagged() -> None:
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2026, 3, 15), 6) == date(2025, 9, 15)
    entry = load_kaart()[0].model_copy(update={"last_checked": date(2026, 5, 27)})
    assert needs_check(entry, today=date(2026, 11, 28))
    assert not needs_check(entry.model_copy(update={"last_checked": date(2026, 5, 28)}), today=date(2026, 11, 28))
