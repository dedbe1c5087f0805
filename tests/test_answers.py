"""Where-to-go answers in whole conversations: FAQ and sociale kaart from the database, on SQLite and PostgreSQL.

Every test runs with the runtime of conftest (the real NLU and crisis check) and once more without
any NLU (button turns, keyword topics), so the flows hold up with and without a model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, inspect, select

from bot.channels.collecting import CollectingChannel
from bot.runtime import Runtime
from data.content import load_kaart
from data.content_store import save_kaart_entry, seed_if_empty
from data.models import Jongere, UnansweredQuestion
from data.settings import Settings
from flows import kaart_answers
from flows.kaart import limits_age
from flows.kaart_answers import MORE_PAYLOAD, NO_AGE_PAYLOAD, entry_title
from flows.messages import Reply
from tests.helpers import Chat, payloads, text_of

KAART = {e.id: e for e in load_kaart()}
ASK_AGE = "Hoe oud ben je? Dan kan ik je beter helpen."
OFFER = ["menu:afspraak", "menu:mens"]


@pytest.fixture
async def no_nlu_runtime(db_url: str) -> AsyncIterator[Runtime]:
    """Yield a runtime like conftest's, but without NLU and crisis check."""
    runtime = Runtime(Settings(database_url=db_url, outbox_poll_seconds=0.05), nlu=None)
    runtime.add_channel(CollectingChannel("test"))
    yield runtime
    await runtime.stop()


@pytest.fixture(params=["conftest", "no-nlu"])
def any_runtime(request: pytest.FixtureRequest, db_url: str) -> Runtime:
    """Return conftest's runtime, then one without NLU."""
    name = "runtime" if request.param == "conftest" else "no_nlu_runtime"
    runtime: Runtime = request.getfixturevalue(name)
    return runtime


@pytest.fixture
async def rt(any_runtime: Runtime) -> Runtime:
    """Return a runtime with the kaart answers installed and the seed content loaded."""
    kaart_answers.install()
    async with any_runtime.db.transaction() as session:
        await seed_if_empty(session)
    return any_runtime


async def started(runtime: Runtime, identity: str = "test:jongere-1", lang: str = "nl") -> Chat:
    """Return a chat past the welcome and the language choice."""
    chat = Chat(runtime, identity)
    await chat.send("hoi")
    await chat.send("English" if lang == "en" else "Nederlands", payload=f"lang:{lang}")
    return chat


def titles(replies: list[Reply]) -> list[str]:
    """Return the entry headings offered in replies, in order."""
    return [line[2:] for r in replies for line in r.text.splitlines() if line.startswith("• ")]


def offered_ids(replies: list[Reply]) -> list[str]:
    """Return the ids of the entries offered in replies."""
    by_title = {entry_title(e): e.id for e in KAART.values()}
    return [by_title[t] for t in titles(replies)]


async def all_pages(chat: Chat, first: list[Reply]) -> list[Reply]:
    """Press "Meer" until there is no more, and return every reply on the way."""
    replies = list(first)
    for _ in range(10):
        if MORE_PAYLOAD not in payloads(replies[-1:]):
            break
        replies += await chat.send("Meer", payload=MORE_PAYLOAD)
    return replies


async def age_of(runtime: Runtime, identity: str = "test:jongere-1") -> int | None:
    """Return the age stored for the jongere behind `identity`."""
    from data.models import ChannelIdentity

    async with runtime.db.session() as s:
        return (await s.execute(select(Jongere.age).join(ChannelIdentity, ChannelIdentity.jongere_id == Jongere.id)
                                .where(ChannelIdentity.address == identity))).scalar_one()


async def set_age(runtime: Runtime, age: int, identity: str = "test:jongere-1") -> None:
    """Store the age of the jongere behind `identity`, as if they had told it earlier."""
    from data.models import ChannelIdentity

    async with runtime.db.transaction() as s:
        jongere_id = (await s.execute(select(ChannelIdentity.jongere_id)
                                      .where(ChannelIdentity.address == identity))).scalar_one()
        (await s.get(Jongere, jongere_id)).age = age  # type: ignore[union-attr]


def assert_ends_with_offer(replies: list[Reply]) -> None:
    """Check that the answer ends with "Plan een gesprek" and "Praat nu met een medewerker"."""
    assert payloads(replies[-1:])[-2:] == OFFER
    titles_ = [b.title for b in replies[-1].buttons][-2:]
    assert titles_ in (["Plan een gesprek", "Praat nu met een medewerker"],
                       ["Plan a meeting", "Talk to a staff member now"])


async def test_debts_question_gets_places_with_offer_and_no_empty_contact(rt):
    chat = await started(rt)
    replies = await chat.send("ik heb schulden")
    text = text_of(replies)
    assert "Schuldhulpverlening" in text
    assert len(titles(replies)) in (1, 2, 3)
    assert "Hoe kom je erbij?" in text
    assert "None" not in text and "Contact:" not in text  # no seed entry on this topic has checked contact data
    assert_ends_with_offer(replies)


async def test_a_message_with_only_the_age_is_remembered(rt):
    chat = await started(rt)
    noted = await chat.send("ik ben 24")
    assert "onthoud" in text_of(noted) and await age_of(rt) == 24
    outside = await chat.send("ik ben 31")
    assert "16 tot en met 27 jaar" in text_of(outside) and await age_of(rt) == 31


async def test_more_shows_the_next_three_by_word_number_and_button(rt):
    chat = await started(rt)
    await set_age(rt, 24)
    first = await chat.send("ik zoek werk")
    assert len(titles(first)) == 3 and MORE_PAYLOAD in payloads(first)
    assert "Meer" in [b.title for b in first[-1].buttons]
    second = await chat.send("meer")
    third = await chat.send("1")  # the first button is "Meer"
    fourth = await chat.send("Meer", payload=MORE_PAYLOAD)
    seen = offered_ids(first) + offered_ids(second) + offered_ids(third) + offered_ids(fourth)
    assert len(seen) == len(set(seen)) >= 7
    for page in (second, third, fourth):
        assert_ends_with_offer(page)
    assert "Nog meer plekken" in text_of(second)
    async with rt.db.session() as s:
        from data.models import ChannelIdentity

        assert (await s.execute(select(ChannelIdentity.opted_out))).scalar_one() is False  # "meer" is not "stop"


async def test_more_when_nothing_is_left_says_so(rt):
    chat = await started(rt)
    replies = await all_pages(chat, await chat.send("ik heb schulden"))
    last = await chat.send("meer")
    assert "Meer plekken heb ik niet" in text_of(last)
    assert_ends_with_offer(last)
    assert MORE_PAYLOAD not in payloads(replies[-1:])


async def test_age_is_asked_once_and_remembered(rt):
    chat = await started(rt)
    asked = await chat.send("ik wil mijn diploma halen")
    assert ASK_AGE in text_of(asked)
    assert payloads(asked[-1:]) == [NO_AGE_PAYLOAD, "menu:mens"]
    answer = await all_pages(chat, await chat.send("24"))
    assert await age_of(rt) == 24
    ids = offered_ids(answer)
    assert ids and all(KAART[i].fits_age(24) for i in ids)
    assert "rmc-trajectbegeleiding" not in ids and "choose2improve" not in ids
    assert_ends_with_offer(answer)
    later = await all_pages(chat, await chat.send("ik zoek werk"))
    assert ASK_AGE not in text_of(later)
    assert all(KAART[i].fits_age(24) for i in offered_ids(later))
    assert sum(r.text.count(ASK_AGE) for r in chat.all) == 1


@pytest.mark.parametrize("reply", ["ik ben 19", "19 jaar", "19"])
async def test_age_answer_forms(rt, reply):
    chat = await started(rt)
    assert ASK_AGE in text_of(await chat.send("ik wil mijn diploma halen"))
    answer = await chat.send(reply)
    assert titles(answer)
    assert await age_of(rt) == 19


async def test_not_saying_the_age_gives_places_open_to_all_ages_and_no_second_question(rt):
    chat = await started(rt)
    assert ASK_AGE in text_of(await chat.send("ik wil mijn diploma halen"))
    answer = await all_pages(chat, await chat.send("Zeg ik liever niet", payload=NO_AGE_PAYLOAD))
    assert "op elke leeftijd" in text_of(answer)
    ids = offered_ids(answer)
    assert ids
    for entry_id in ids:
        entry = KAART[entry_id]
        assert not limits_age(entry) and not entry.doelgroep_scholier, entry_id
    again = await chat.send("ik zoek werk")
    assert ASK_AGE not in text_of(again)
    assert all(not limits_age(KAART[i]) for i in offered_ids(again))
    assert await age_of(rt) is None


async def test_typed_refusal_counts_too(rt):
    chat = await started(rt)
    await chat.send("ik wil mijn diploma halen")
    answer = await chat.send("zeg ik liever niet")
    assert "op elke leeftijd" in text_of(answer)


async def test_rmc_is_never_offered_to_a_25_year_old_asking_about_school(rt):
    chat = await started(rt)
    replies = await all_pages(chat, await chat.send("ik ben 25 en wil terug naar school"))
    replies += await all_pages(chat, await chat.send("ik wil mijn diploma halen"))
    ids = offered_ids(replies)
    assert ids
    assert "rmc-trajectbegeleiding" not in ids
    assert not [i for i in ids if not KAART[i].fits_age(25)]
    assert ASK_AGE not in text_of(replies)


SCHOOL, BENEFIT = "ik zoek een opleiding", "ik wil een uitkering aanvragen"
SAMPLE = [("rmc-trajectbegeleiding", 22, 23, SCHOOL), ("leerplicht", 17, 18, SCHOOL),
          ("choose2improve", 23, 24, SCHOOL), ("flevodrome", 23, 24, SCHOOL),
          ("jongerencoach-18plus", 18, 17, SCHOOL), ("werk-en-inkomen", 18, 17, BENEFIT),
          ("wi-team-zorg", 18, 17, BENEFIT)]


@pytest.mark.parametrize("entry_id, inside, outside, question", SAMPLE)
async def test_age_limits_hold_in_a_whole_conversation(rt, entry_id, inside, outside, question):
    seen: dict[int, list[str]] = {}
    for age in (inside, outside):
        chat = await started(rt, identity=f"test:age-{age}")
        assert ASK_AGE in text_of(await chat.send(question))
        seen[age] = offered_ids(await all_pages(chat, await chat.send(str(age))))
    assert entry_id in seen[inside]
    assert entry_id not in seen[outside]
    assert all(KAART[i].fits_age(outside) for i in seen[outside])


async def test_faq_answer_lists_its_linked_places_that_fit(rt):
    chat = await started(rt)
    await set_age(rt, 24)
    replies = await chat.send("wat is een startkwalificatie")
    text = text_of(replies)
    assert "startkwalificatie" in text.lower() and "havo" in text.lower()  # the FAQ's own answer
    ids = offered_ids(replies)
    assert ids and set(ids) <= {"jongerenloket", "entree-opleiding"}
    assert_ends_with_offer(replies)


async def test_faq_links_are_filtered_by_age(rt):
    chat = await started(rt)
    await set_age(rt, 26)
    replies = await all_pages(chat, await chat.send("wat is het rmc?"))
    ids = offered_ids(replies)
    assert "rmc-trajectbegeleiding" not in ids
    assert "jongerenloket" in ids


async def test_english_speakers_get_english_texts(rt):
    chat = await started(rt, lang="en")
    replies = await chat.send("i have debts who can help me")
    text = text_of(replies)
    assert "How to get there:" in text and "Hoe kom je erbij?" not in text
    assert "Debt counselling" in text
    assert_ends_with_offer(replies)


@pytest.mark.parametrize("message", [
    pytest.param("bla " * 2500, id="10kb"),
    pytest.param("🙂🙂🙂🎉", id="emoji"),
    pytest.param("1234567 89", id="numbers"),
    pytest.param("yo bro wat is the vibe vandaag, let's gaan chillen morgen?", id="mixed-language"),
])
async def test_odd_input_gets_the_fallback_with_menu_and_person(rt, message):
    chat = await started(rt)
    replies = await chat.send(message)
    assert replies
    assert "begrijp ik nog niet" in text_of(replies)
    assert {"menu:mens", "menu:menu"} <= set(payloads(replies))


async def test_unanswered_questions_are_stored_as_text_only(rt):
    first = await started(rt, identity="test:vraag-1")
    await first.send("wat is de hoofdstad van Peru?")
    second = await started(rt, identity="test:vraag-2")
    await second.send("Wat is de hoofdstad van peru")
    await second.send("wat is de hoofdstad van peru, bel me op 0612345678")
    await second.send("🙂🙂🙂")
    async with rt.db.session() as s:
        rows = (await s.execute(select(UnansweredQuestion).order_by(UnansweredQuestion.id))).scalars().all()
        columns = await s.run_sync(lambda ss: {c["name"] for c in inspect(ss.connection()).get_columns(
            "onbeantwoorde_vraag")})
    assert columns == {"id", "key", "text", "language", "count", "created_at", "last_seen_at"}
    assert [r.count for r in rows] == [2, 1]
    assert rows[0].text == "wat is de hoofdstad van Peru?" and rows[0].language == "nl"
    assert "0612345678" not in rows[1].text and "[nummer]" in rows[1].text
    for row in rows:
        assert "test:" not in row.text and "vraag-" not in row.text


async def test_a_content_change_is_live_within_five_seconds(rt):
    chat = await started(rt)
    assert "Schuldhulpverlening" in text_of(await chat.send("ik heb schulden"))
    changed = KAART["schuldhulpverlening"].model_copy(update={"naam": "Schuldhulp Almere Nieuw"})
    async with rt.db.transaction() as s:
        await save_kaart_entry(s, changed, actor="coach:1")
    saved = time.monotonic()
    while True:
        replies = await chat.send("ik heb schulden")
        if "Schuldhulp Almere Nieuw" in text_of(replies):
            break
        assert time.monotonic() - saved < 5, "content change not live within 5 seconds"
        await asyncio.sleep(0.25)
    assert "None" not in text_of(replies)


async def test_a_new_entry_without_contact_shows_no_contact_line(rt):
    chat = await started(rt)
    await set_age(rt, 24)
    new = KAART["reclassering"].model_copy(update={"id": "testhuis-justitie", "naam": "Testhuis Justitie",
                                                   "organisatie": "Testorganisatie"})
    async with rt.db.transaction() as s:
        await save_kaart_entry(s, new, actor="coach:1")
    kaart_answers.invalidate_content_cache()
    replies = await all_pages(chat, await chat.send("ik heb een taakstraf, waar kan ik terecht?"))
    assert "Testhuis Justitie" in text_of(replies)
    block = text_of(replies).split("Testhuis Justitie", 1)[1].split("\n\n", 1)[0]
    assert "Contact" not in block and "None" not in block


async def test_without_content_the_bot_still_answers_kindly(runtime):
    kaart_answers.install()
    chat = await started(runtime)
    replies = await chat.send("ik heb schulden")
    assert "menu:mens" in payloads(replies)
    replies = await chat.send("wat is de hoofdstad van Peru?")
    assert "begrijp ik nog niet" in text_of(replies)
    async with runtime.db.session() as s:
        assert (await s.execute(select(func.count(UnansweredQuestion.id)))).scalar_one() == 1


async def test_a_question_about_an_organisation_is_answered_not_taken_as_sign_up(runtime):
    from data.content_store import seed_if_empty
    from tests.helpers import Chat, text_of

    async with runtime.db.transaction() as session:
        await seed_if_empty(session)
    chat = Chat(runtime, identity="test:org-question")
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    replies = await chat.send("wat kan flevodrome voor mij doen?")
    if "Hoe oud" in text_of(replies):  # Flevodrome has an age limit, so the age comes first
        replies = await chat.send("20")
    assert "Flevodrome" in text_of(replies)
    assert "consent:ja" not in [b.payload for r in replies for b in r.buttons]
