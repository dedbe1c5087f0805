"""Link codes: issue, redeem (new chat, known chat, merge), refuse; the /start flow; Telegram end to end."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from data import conversations, link_codes
from data.accounts import add_coach
from data.db import Database
from data.models import (
    AuditLog,
    Base,
    ChannelIdentity,
    ConsentRecord,
    Conversation,
    Jongere,
    LinkCode,
    Message,
    Ticket,
    utcnow,
)
from data.records import open_ticket, record_consent
from flows.messages import IncomingMessage, Reply
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import Chat, payloads, text_of
from tests.test_telegram import TOKEN, make_runtime


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    yield database
    await database.dispose()


async def known_jongere(db: Database, address: str = "web:known-1", language: str = "nl") -> tuple[int, int]:
    """Create a coach and a jongere who came in through another channel; return (jongere id, coach id)."""
    async with db.transaction() as session:
        coach, _ = await add_coach(session, name="Bea", email=f"bea-{address}@example.org", role="begeleider")
        ref = await conversations.create(session, address.split(":")[0], address, language=language,
                                         display_name="Sam")
        return ref.jongere.id, coach.id


async def issue(db: Database, jongere_id: int, coach_id: int, **kwargs: Any) -> str:
    """Issue a code for the jongere and return it."""
    async with db.transaction() as session:
        return (await link_codes.issue_code(session, jongere_id, coach_id, **kwargs)).code


async def count(db: Database, model: type[Base]) -> int:
    """Return how many rows a table holds."""
    async with db.session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


# --- storage ----------------------------------------------------------------------------------------

def test_codes_are_random_and_fit_telegram():
    codes = {link_codes.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(1 <= len(c) <= 64 and c.isalnum() and c.isascii() for c in codes)
    assert link_codes.normalise(" abcd-efgh 23 ") == "ABCDEFGH23"


async def test_redeem_on_a_new_chat_creates_the_channel_for_the_known_jongere(db):
    jongere_id, coach_id = await known_jongere(db)
    code = await issue(db, jongere_id, coach_id)
    async with db.transaction() as session:
        result = await link_codes.redeem_code(session, code.lower(), "telegram:42")
    assert result.outcome == "linked" and result.ok and result.jongere is not None
    assert result.jongere.id == jongere_id and result.merged_jongere_id is None
    async with db.session() as session:
        identity = (await session.execute(select(ChannelIdentity).where(
            ChannelIdentity.address == "telegram:42"))).scalar_one()
        conversation = (await session.execute(select(Conversation).where(
            Conversation.identity_id == identity.id))).scalar_one()
        link = (await session.execute(select(LinkCode))).scalar_one()
        audit = (await session.execute(select(AuditLog).where(AuditLog.action.like("link_code%"))
                                       .order_by(AuditLog.id))).scalars().all()
        assert await link_codes.open_codes(session, jongere_id) == []
    assert identity.jongere_id == jongere_id and identity.channel == "telegram"
    assert conversation.jongere_id == jongere_id and link.used_at is not None
    assert link.expires_at - link.created_at == timedelta(days=7)
    assert [a.action for a in audit] == ["link_code_issued", "link_code_redeemed"]
    assert audit[0].actor == f"coach:{coach_id}" and audit[1].subject_id == str(jongere_id)
    assert code not in repr([a.detail for a in audit])  # the code itself is never in the audit trail


async def test_redeem_moves_a_known_chat_and_merges_its_record(db):
    jongere_id, coach_id = await known_jongere(db)
    async with db.transaction() as session:
        other = await conversations.create(session, "telegram", "telegram:7", display_name="Sammie")
        other.jongere.age = 24
        session.add(Message(conversation_id=other.conversation.id, direction="in", channel="telegram",
                            text="hoi", sender="jongere"))
        await open_ticket(session, other.conversation, "mens_spreken", 2, {})
        await record_consent(session, other.jongere.id, "intake", True, "v1", "telegram")
        old_id = other.jongere.id
    code = await issue(db, jongere_id, coach_id)
    async with db.transaction() as session:
        result = await link_codes.redeem_code(session, code, "telegram:7")
    assert result.outcome == "linked" and result.merged_jongere_id == old_id
    async with db.session() as session:
        assert await session.get(Jongere, old_id) is None
        target = await session.get(Jongere, jongere_id)
        conversation = (await session.execute(select(Conversation).join(
            ChannelIdentity, ChannelIdentity.id == Conversation.identity_id).where(
            ChannelIdentity.address == "telegram:7"))).scalar_one()
        messages = (await session.execute(select(Message.text).where(
            Message.conversation_id == conversation.id))).scalars().all()
        tickets = (await session.execute(select(Ticket.jongere_id))).scalars().all()
        consents = (await session.execute(select(ConsentRecord.jongere_id))).scalars().all()
    assert conversation.jongere_id == jongere_id and messages == ["hoi"]
    assert tickets == [jongere_id] and consents == [jongere_id]
    assert target is not None and target.display_name == "Sam" and target.age == 24  # blanks filled in


async def test_a_record_with_other_channels_stays(db):
    jongere_id, coach_id = await known_jongere(db)
    async with db.transaction() as session:
        other = await conversations.create(session, "telegram", "telegram:8")
        session.add(ChannelIdentity(jongere_id=other.jongere.id, channel="web", address="web:other"))
        old_id = other.jongere.id
    code = await issue(db, jongere_id, coach_id)
    async with db.transaction() as session:
        result = await link_codes.redeem_code(session, code, "telegram:8")
    assert result.outcome == "linked" and result.merged_jongere_id is None
    async with db.session() as session:
        assert await session.get(Jongere, old_id) is not None
        moved = (await session.execute(select(ChannelIdentity.jongere_id).where(
            ChannelIdentity.address == "telegram:8"))).scalar_one()
    assert moved == jongere_id


async def test_unknown_expired_used_and_already_linked(db):
    jongere_id, coach_id = await known_jongere(db)
    async with db.transaction() as session:
        assert (await link_codes.redeem_code(session, "NOSUCHCODE", "telegram:1")).outcome == "unknown"
        assert (await link_codes.redeem_code(session, "  ", "telegram:1")).outcome == "unknown"
    old = await issue(db, jongere_id, coach_id, now=utcnow() - timedelta(days=8))
    async with db.transaction() as session:
        assert (await link_codes.redeem_code(session, old, "telegram:1")).outcome == "expired"
    code = await issue(db, jongere_id, coach_id)
    async with db.transaction() as session:
        assert (await link_codes.redeem_code(session, code, "telegram:1")).outcome == "linked"
    async with db.transaction() as session:
        assert (await link_codes.redeem_code(session, code, "telegram:2")).outcome == "used"
        again = await link_codes.redeem_code(session, code, "telegram:1")
    assert again.outcome == "already_linked" and again.ok
    second = await issue(db, jongere_id, coach_id)
    async with db.transaction() as session:  # a fresh code from a chat that is linked already: just "linked"
        assert (await link_codes.redeem_code(session, second, "web:known-1")).outcome == "already_linked"
    assert await count(db, ChannelIdentity) == 2  # web:known-1 and telegram:1; nothing for refused codes


async def test_revoke_ends_an_open_code(db):
    jongere_id, coach_id = await known_jongere(db)
    await issue(db, jongere_id, coach_id)
    async with db.transaction() as session:
        link = (await link_codes.open_codes(session, jongere_id))[0]
        assert await link_codes.revoke_code(session, jongere_id + 1, link.id, coach_id) is False
        assert await link_codes.revoke_code(session, jongere_id, link.id, coach_id) is True
    async with db.transaction() as session:
        assert await link_codes.open_codes(session, jongere_id) == []
        assert await link_codes.revoke_code(session, jongere_id, link.id, coach_id) is False
        assert (await link_codes.redeem_code(session, link.code, "telegram:3")).outcome == "expired"


# --- the /start flow (channel-neutral, through the dispatcher) ---------------------------------------

async def start(runtime: Runtime, identity: str, code: str | None, msg_id: str) -> list[Reply]:
    """Send `/start` (with a code as meta, as the Telegram adapter does) and return the replies."""
    chat = Chat(runtime, identity)
    before = len(chat.all)
    await runtime.dispatcher.handle(IncomingMessage(channel="test", identity=identity, text="/start",
                                                    meta={"start_code": code} if code else {},
                                                    channel_message_id=msg_id))
    while await runtime.sender.drain_once():
        pass
    return chat.all[before:]


async def test_start_with_code_on_a_new_chat_links_and_offers_the_menu(runtime, caplog):
    caplog.set_level(logging.INFO)
    jongere_id, coach_id = await known_jongere(runtime.db, language="en")
    code = await issue(runtime.db, jongere_id, coach_id)
    replies = await start(runtime, "test:tg-new", code, "s1")
    assert "This chat is now connected to you" in text_of(replies)  # in the jongere's own language
    assert "menu:mens" in payloads(replies) and "lang:nl" not in payloads(replies)
    async with runtime.db.session() as session:
        identity = (await session.execute(select(ChannelIdentity).where(
            ChannelIdentity.address == "test:tg-new"))).scalar_one()
        stored = (await session.execute(select(Message.direction).join(
            Conversation, Conversation.id == Message.conversation_id).where(
            Conversation.identity_id == identity.id))).scalars().all()
    assert identity.jongere_id == jongere_id and "in" in stored and "out" in stored
    assert await count(runtime.db, Jongere) == 1  # no second record left behind
    assert code not in caplog.text and "Sam" not in caplog.text
    # The next message just continues with the known jongere.
    assert "menu:mens" in payloads(await Chat(runtime, "test:tg-new").send("menu"))


async def test_start_with_code_on_a_known_chat_keeps_its_messages(runtime):
    jongere_id, coach_id = await known_jongere(runtime.db)
    chat = Chat(runtime, "test:tg-old")
    await chat.send("hoi")
    await chat.send("Nederlands", payload="lang:nl")
    code = await issue(runtime.db, jongere_id, coach_id)
    replies = await start(runtime, "test:tg-old", code, "s2")
    assert "Gelukt! Deze chat hoort nu bij jou" in text_of(replies) and "menu:vraag" in payloads(replies)
    async with runtime.db.session() as session:
        conversation = (await session.execute(select(Conversation).join(
            ChannelIdentity, ChannelIdentity.id == Conversation.identity_id).where(
            ChannelIdentity.address == "test:tg-old"))).scalar_one()
        texts = (await session.execute(select(Message.text).where(
            Message.conversation_id == conversation.id, Message.direction == "in"))).scalars().all()
    assert conversation.jongere_id == jongere_id and texts[:2] == ["hoi", "Nederlands"]
    assert await count(runtime.db, Jongere) == 1
    replies = await start(runtime, "test:tg-old", code, "s3")  # the same link again
    assert "Deze chat hoort al bij jou" in text_of(replies)


async def test_start_with_a_bad_code(runtime):
    jongere_id, coach_id = await known_jongere(runtime.db)
    replies = await start(runtime, "test:tg-a", "WRONGCODE1", "b1")  # new chat: the message, then the welcome
    assert "Deze code ken ik niet" in text_of(replies) and "lang:nl" in payloads(replies)
    expired = await issue(runtime.db, jongere_id, coach_id, now=utcnow() - timedelta(days=8))
    replies = await start(runtime, "test:tg-a", expired, "b2")
    assert "Deze code is verlopen" in text_of(replies) and "menu:mens" in payloads(replies)
    used = await issue(runtime.db, jongere_id, coach_id)
    await start(runtime, "test:tg-b", used, "b3")
    replies = await start(runtime, "test:tg-a", used, "b4")
    assert "Deze code is al gebruikt" in text_of(replies) and "menu:mens" in payloads(replies)
    async with runtime.db.session() as session:
        owner = (await session.execute(select(ChannelIdentity.jongere_id).where(
            ChannelIdentity.address == "test:tg-a"))).scalar_one()
    assert owner != jongere_id


async def test_plain_start_is_unchanged(runtime):
    replies = await start(runtime, "test:tg-plain", None, "p1")
    assert "Welkom" in text_of(replies) and "lang:nl" in payloads(replies)
    replies = await start(runtime, "test:tg-plain", None, "p2")
    assert "menu:mens" in payloads(replies)


# --- Telegram, end to end ---------------------------------------------------------------------------

@pytest.fixture
def fake_tg():
    fake = FakeTelegramAPI(token=TOKEN)
    fake.start()
    yield fake
    fake.stop()


async def test_telegram_deep_link_connects_the_chat(db_url, nlu_engine, fake_tg):
    rt = await make_runtime(db_url, nlu_engine, fake_tg, webhook=False)
    try:
        jongere_id, coach_id = await known_jongere(rt.db)
        code = await issue(rt.db, jongere_id, coach_id)
        fake_tg.push_text(4242, f"/start {code}")
        sent = await fake_tg.wait_for_sent(1, chat_id=4242)
        assert "Gelukt" in sent[0].text and sent[0].button_texts[-1] == "Praat met een medewerker"
        async with rt.db.session() as session:
            identity = (await session.execute(select(ChannelIdentity).where(
                ChannelIdentity.address == "telegram:4242"))).scalar_one()
        assert identity.jongere_id == jongere_id and identity.channel == "telegram"
    finally:
        await rt.stop()
