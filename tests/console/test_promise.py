"""The bot promises an honest answer time at a handoff, from the team's working hours and norm."""

from __future__ import annotations

from datetime import UTC, datetime

from coach_console.config import ConsoleSettings
from coach_console.sla import answer_deadline
from tests.helpers import Chat, text_of

SETTINGS = ConsoleSettings(sla_first_answer_hours=4, work_start_hour=9, work_end_hour=17)


def test_deadline_counts_working_hours_only():
    # Wednesday 2026-11-25 10:00 in Amsterdam (09:00 UTC): four working hours later is 14:00 the same day.
    assert answer_deadline("mens_spreken", datetime(2026, 11, 25, 9, 0, tzinfo=UTC), SETTINGS).strftime(
        "%a %H:%M") == "Wed 14:00"
    # Wednesday 15:00 local: two hours today, two tomorrow morning.
    assert answer_deadline("mens_spreken", datetime(2026, 11, 25, 14, 0, tzinfo=UTC), SETTINGS).strftime(
        "%a %H:%M") == "Thu 11:00"
    # Friday 20:00 local: nothing until Monday 09:00, so Monday 13:00.
    assert answer_deadline("mens_spreken", datetime(2026, 11, 27, 19, 0, tzinfo=UTC), SETTINGS).strftime(
        "%a %H:%M") == "Mon 13:00"


async def test_handoff_tells_the_jongere_when_a_person_answers(app, runtime):
    chat = Chat(runtime, identity="test:promise")
    await chat.send("hoi")
    replies = await chat.send("", payload="menu:mens")
    assert "Een medewerker antwoordt" in text_of(replies) and "vóór" in text_of(replies)
