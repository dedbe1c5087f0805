"""Whole conversations through the dispatcher and the outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from data.models import ChannelIdentity, ConsentRecord, Conversation, Message, OutboxItem, Ticket
from flows.messages import IncomingMessage
from tests.helpers import Chat, payloads, text_of


async def test_first_contact_welcomes_with_privacy_and_language_choice(runtime):
    chat = Chat(runtime)
    replies = await chat.send("hoi")
    text = text_of(replies)
    assert "Welkom bij het Jongerenloket" in text
    assert "'privacy'" in text and "'stop'" in text
    assert payloads(replies) == ["lang:nl", "lang:en"]


async def test_language_choice_leads_to_menu_in_that_language(runtime):
    chat = Chat(runtime)
    await chat.send("hallo")
    replies = await chat.send("English", payload="lang:en")
    assert "What can I help you with?" in text_of(replies)
    assert payloads(replies) == ["menu:vraag", "menu:aanmelden", "menu:afspraak", "menu:mens"]
    assert [b.title for b in replies[-1].buttons][-1] == "Talk to a person"


async def test_typed_number_picks_the_offered_option(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    replies = await chat.send("1")  # 1 = Nederlands
    assert "Waar kan ik je mee helpen?" in text_of(replies)
    replies = await chat.send("4")  # 4 = Praat met een medewerker
    assert "medewerker" in text_of(replies)
    async with runtime.db.session() as s:
        assert (await s.execute(select(Conversation.mode))).scalar_one() == "waiting_for_coach"
        ticket = (await s.execute(select(Ticket))).scalar_one()
    assert ticket.kind == "mens_spreken" and ticket.state == "open"


async def test_first_message_that_is_a_question_gets_an_answer_after_the_welcome(runtime):
    chat = Chat(runtime)
    replies = await chat.send("hoe kom ik aan een baan zonder diploma?")
    assert "Welkom" in replies[0].text
    assert len(replies) >= 3  # welcome, language choice, then the answer or a kind fallback
    assert "menu:mens" in payloads(replies[2:]) or len(text_of(replies[2:])) > 40


async def test_help_menu_and_stop_work_anywhere(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    await chat.send("", payload="menu:aanmelden")  # now inside the consent step
    assert "Ik ben de chatbot" in text_of(await chat.send("help"))
    assert payloads(await chat.send("menu"))[:1] == ["menu:vraag"]
    assert "geen berichten meer" in text_of(await chat.send("stop"))
    async with runtime.db.session() as s:
        assert (await s.execute(select(ChannelIdentity.opted_out))).scalar_one() is True
    await chat.send("hoi weer")
    async with runtime.db.session() as s:
        assert (await s.execute(select(ChannelIdentity.opted_out))).scalar_one() is False


async def test_consent_yes_is_recorded_with_text_version(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    replies = await chat.send("", payload="menu:aanmelden")
    assert payloads(replies) == ["consent:ja", "consent:nee", "consent:meer"]
    more = await chat.send("meer info")
    assert "versleuteld" in text_of(more) and payloads(more) == ["consent:ja", "consent:nee", "consent:meer"]
    done = await chat.send("ja")
    assert "aanmelding is doorgegeven" in text_of(done)
    async with runtime.db.session() as s:
        record = (await s.execute(select(ConsentRecord))).scalar_one()
        ticket = (await s.execute(select(Ticket))).scalar_one()
    assert record.purpose == "intake" and record.granted is True
    assert record.text_version == runtime.texts.get("nl", "consent_intake_version")
    assert ticket.kind == "aanmelding"


async def test_consent_no_is_recorded_and_nothing_is_signed_up(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    await chat.send("", payload="menu:aanmelden")
    replies = await chat.send("", payload="consent:nee")
    assert "Zonder toestemming" in text_of(replies)
    async with runtime.db.session() as s:
        record = (await s.execute(select(ConsentRecord))).scalar_one()
        tickets = (await s.execute(select(func.count(Ticket.id)))).scalar_one()
    assert record.granted is False and tickets == 0


async def test_unclear_consent_answer_is_asked_again(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    await chat.send("", payload="menu:aanmelden")
    replies = await chat.send("misschien")
    assert "Kies 'ja', 'nee' of 'meer info'" in text_of(replies)
    async with runtime.db.session() as s:
        assert (await s.execute(select(func.count(ConsentRecord.id)))).scalar_one() == 0


async def test_same_channel_message_id_twice_gives_one_reply(runtime):
    chat = Chat(runtime)
    first = await chat.send("hoi", msg_id="dup-1")
    second = await chat.send("hoi", msg_id="dup-1")
    assert first and second == []
    async with runtime.db.session() as s:
        assert (await s.execute(select(func.count(Message.id)).where(Message.direction == "in"))).scalar_one() == 1


async def test_two_messages_at_once_are_both_answered_in_order(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    await asyncio.gather(
        runtime.dispatcher.handle(IncomingMessage("test", chat.identity, "help", channel_message_id="a")),
        runtime.dispatcher.handle(IncomingMessage("test", chat.identity, "privacy", channel_message_id="b")),
    )
    while await runtime.sender.drain_once():
        pass
    last_two = [r.text for r in chat.all[-2:]]
    assert last_two[0].startswith("Ik ben de chatbot")
    assert last_two[1].startswith("Wat we bewaren")


async def test_empty_and_emoji_only_messages_get_a_kind_answer(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    assert "Ik zie geen tekst" in text_of(await chat.send("   "))
    emoji = await chat.send("🙂🙂🙂")
    assert emoji and "menu:mens" in payloads(emoji)


async def test_huge_message_is_cut_with_a_notice_and_control_characters_are_removed(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    replies = await chat.send("a\x00b\x07c\ud800" + "x" * 100_000)
    assert "erg lang" in replies[0].text
    async with runtime.db.session() as s:
        stored = (await s.execute(select(Message.text).where(Message.direction == "in")
                                  .order_by(Message.id.desc()).limit(1))).scalar_one()
    assert len(stored) == runtime.settings.max_message_chars
    assert stored.startswith("abc?") and "\x00" not in stored


async def test_photo_without_text_gets_the_text_only_answer(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    replies = await chat.send("", kind="photo")
    assert "alleen tekst" in text_of(replies) and "menu:mens" in payloads(replies)


async def test_bot_is_quiet_while_a_coach_handles_the_conversation(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="menu:mens")
    assert "doorgegeven" in text_of(await chat.send("ik heb een vraag over geld"))
    assert await chat.send("nog iets") == []  # acknowledged once only
    async with runtime.db.transaction() as s:
        conv = (await s.execute(select(Conversation))).scalar_one()
        conv.mode = "with_coach"
    assert await chat.send("hallo?") == []
    back = await chat.send("menu")
    assert "weer met de chatbot" in text_of(back)


async def test_a_turn_loads_only_what_it_needs(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    for i in range(30):
        await chat.send("help", msg_id=f"h{i}")
    async with runtime.db.session() as s:
        conv = (await s.execute(select(Conversation))).scalar_one()
    assert conv.turns == 31
    assert set(conv.flow_state) == {"flow", "step", "data", "options"}  # no history in the state


async def test_pending_outbox_is_sent_after_a_crash(runtime):
    """The reply is stored with the inbound message; a new sender after a restart sends it."""
    from bot.channels.collecting import CollectingChannel
    from bot.sender import OutboxSender

    await runtime.dispatcher.handle(IncomingMessage("test", "test:crash", "hoi", channel_message_id="c1"))
    # "crash": no sender ran. Restart: a fresh sender on the same database.
    fresh = CollectingChannel("test")
    sender = OutboxSender(runtime.db, {"test": fresh})
    while await sender.drain_once():
        pass
    assert any("Welkom" in t for t in fresh.texts("test:crash"))
    async with runtime.db.session() as s:
        states = set((await s.execute(select(OutboxItem.state))).scalars())
    assert states == {"sent"}


async def test_free_text_that_sounds_like_stopping_asks_first(runtime):
    chat = Chat(runtime)
    await chat.send("hoi")
    await chat.send("", payload="lang:nl")
    replies = await chat.send("ik wil geen berichten meer ontvangen")
    assert payloads(replies) == ["cmd:stop", "menu:menu"]
    async with runtime.db.session() as s:
        assert (await s.execute(select(ChannelIdentity.opted_out))).scalar_one() is False
    await chat.send("1")
    async with runtime.db.session() as s:
        assert (await s.execute(select(ChannelIdentity.opted_out))).scalar_one() is True
