"""Telegram for real: python-telegram-bot over HTTP against a local fake Bot API, both modes."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import build_app
from bot.channels.base import OutboundItem, split_text
from bot.channels.telegram import TelegramChannel
from bot.runtime import Runtime
from bot.wiring import add_platform_channels, crisis_check_for
from data.models import ChannelIdentity, Message, OutboxItem
from data.settings import Settings
from flows.messages import Reply
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123:ABC"
SECRET = "s3cret_token-1"


@pytest.fixture
def fake_tg():
    fake = FakeTelegramAPI(token=TOKEN)
    fake.start()
    yield fake
    fake.stop()


async def make_runtime(db_url, nlu_engine, fake, *, webhook: bool) -> Runtime:
    settings = Settings(database_url=db_url, outbox_poll_seconds=0.05, telegram_bot_token=TOKEN,
                        telegram_api_base_url=f"{fake.base_url}/bot",
                        public_base_url="https://desk.example.nl" if webhook else "",
                        telegram_webhook_secret=SECRET if webhook else "")
    rt = Runtime(settings, nlu=nlu_engine, crisis_check=crisis_check_for(nlu_engine))
    add_platform_channels(rt, settings)
    await rt.start()
    return rt


@pytest.fixture
async def polling(db_url, nlu_engine, fake_tg):
    rt = await make_runtime(db_url, nlu_engine, fake_tg, webhook=False)
    yield rt
    await rt.stop()


@pytest.fixture
async def webhook(db_url, nlu_engine, fake_tg):
    rt = await make_runtime(db_url, nlu_engine, fake_tg, webhook=True)
    transport = httpx.ASGITransport(app=build_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield rt, client
    await rt.stop()


async def test_polling_conversation_with_inline_buttons(polling, fake_tg):
    started = time.monotonic()
    fake_tg.push_text(42, "hoi")
    sent = await fake_tg.wait_for_sent(2, chat_id=42)
    assert time.monotonic() - started < 1.0, "a 'hoi' must be answered within a second"
    assert "Welkom" in sent[0].text
    assert sent[1].callback_data == ["lang:nl", "lang:en"]
    fake_tg.push_callback(42, "lang:en", message_id=sent[1].message_id)
    sent = await fake_tg.wait_for_sent(3, chat_id=42)
    assert "What can I help you with?" in sent[2].text
    assert sent[2].button_texts[-1] == "Talk to a person"
    assert len(fake_tg.answered_callbacks) == 1  # every button press is answered


async def test_photo_gets_the_text_only_answer(polling, fake_tg):
    fake_tg.push_text(7, "hoi")
    await fake_tg.wait_for_sent(2, chat_id=7)
    fake_tg.push_photo(7)
    sent = await fake_tg.wait_for_sent(3, chat_id=7)
    assert "alleen tekst" in sent[2].text


async def test_webhook_registers_checks_secret_and_dedupes(webhook, fake_tg):
    rt, client = webhook
    assert fake_tg.calls_to("setWebhook")[0].params["secret_token"] == SECRET
    update_id = fake_tg.push_text(99, "hoi")
    for secret in (None, "wrong"):
        r = await fake_tg.deliver_webhook("/webhooks/telegram", update_id, secret, client=client)
        assert r.status_code == 403
    async with rt.db.session() as s:
        assert (await s.execute(select(func.count(Message.id)))).scalar_one() == 0  # nothing stored
    for _ in range(2):  # Telegram retries: the same update twice
        r = await fake_tg.deliver_webhook("/webhooks/telegram", update_id, SECRET, client=client)
        assert r.status_code == 200
    sent = await fake_tg.wait_for_sent(2, chat_id=99)
    await rt.sender.drain_once()
    assert len(fake_tg.messages_to(99)) == 2 and "Welkom" in sent[0].text


async def test_429_waits_retry_after_then_succeeds(polling, fake_tg):
    fake_tg.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()
    fake_tg.push_text(5, "hoi")
    sent = await fake_tg.wait_for_sent(2, chat_id=5, timeout=10)
    assert time.monotonic() - started >= 1.0
    assert "Welkom" in sent[0].text


async def test_blocked_bot_marks_identity_unreachable(polling, fake_tg):
    fake_tg.block_chat(66)
    fake_tg.push_text(66, "hoi")
    for _ in range(100):
        async with polling.db.session() as s:
            identity = (await s.execute(select(ChannelIdentity))).scalar_one_or_none()
            failed = (await s.execute(select(OutboxItem).where(OutboxItem.state == "failed"))).scalars().all()
        if identity is not None and identity.unreachable:
            break
        await polling.sender.drain_once()
    assert identity is not None and identity.unreachable
    assert failed and "blocked" in (failed[0].last_error or "")


async def test_long_reply_is_split_at_paragraphs(fake_tg):
    async def ignore(_message):
        return None

    channel = TelegramChannel(TOKEN, ignore, base_url=f"{fake_tg.base_url}/bot", per_chat_burst=10)
    await channel.app.initialize()
    try:
        paragraphs = [f"Alinea {i}. " + "woord " * 150 for i in range(6)]
        text = "\n\n".join(paragraphs)
        assert len(text) > 5000
        result = await channel.send(OutboundItem(1, 1, "telegram:8", Reply(text), "reply", 1))
    finally:
        await channel.app.shutdown()
    assert result.status == "sent"
    parts = fake_tg.messages_to(8)
    assert len(parts) == 2 and all(len(p.text) <= 4096 for p in parts)
    assert parts[1].text.startswith("Alinea")
    assert " ".join(p.text for p in parts).split() == text.split()


def test_split_text_handles_text_without_spaces():
    parts = split_text("x" * 9000, 4096)
    assert [len(p) for p in parts] == [4096, 4096, 808]
