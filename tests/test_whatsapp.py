"""WhatsApp for real: twilio 9 over HTTP against a local fake REST API, signed webhooks in."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.app import build_app
from bot.runtime import Runtime
from bot.wiring import add_platform_channels, crisis_check_for
from data.models import ChannelIdentity, Message, OutboxItem, Ticket, utcnow
from data.settings import Settings
from tests.fakes.twilio_api import (
    DEFAULT_WHATSAPP_SENDER,
    FakeTwilioAPI,
    inbound_whatsapp_params,
    post_signed_form,
    status_callback_params,
)

PUBLIC = "https://desk.example.nl"
JONGERE = "whatsapp:+31612345678"


@pytest.fixture
def fake_twilio():
    fake = FakeTwilioAPI()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def wa(db_url, nlu_engine, fake_twilio):
    settings = Settings(database_url=db_url, outbox_poll_seconds=0.05, public_base_url=PUBLIC,
                        twilio_account_sid=fake_twilio.account_sid, twilio_auth_token=fake_twilio.auth_token,
                        twilio_whatsapp_from=DEFAULT_WHATSAPP_SENDER, twilio_api_base_url=fake_twilio.base_url,
                        twilio_templates={"bericht_van_begeleider": "HX" + "1" * 32})
    rt = Runtime(settings, nlu=nlu_engine, crisis_check=crisis_check_for(nlu_engine))
    add_platform_channels(rt, settings)
    await rt.start()
    transport = httpx.ASGITransport(app=build_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield rt, client
    await rt.stop()


async def inbound(client, fake, body="hoi", sid=None, token=None, **extra):
    params = inbound_whatsapp_params(from_=JONGERE, body=body, message_sid=sid, **extra)
    return await post_signed_form("/webhooks/twilio/whatsapp", params, token or fake.auth_token,
                                  sign_url=f"{PUBLIC}/webhooks/twilio/whatsapp", client=client)


async def test_signed_message_gets_twiml_at_once_and_a_reply_through_rest(wa, fake_twilio):
    _, client = wa
    r = await inbound(client, fake_twilio, "hoi")
    assert r.status_code == 200 and "<Response>" in r.text
    sent = await fake_twilio.wait_for_sent(2, to=JONGERE)
    assert "Welkom" in sent[0].body
    assert "1. Nederlands" in sent[1].body and "2. English" in sent[1].body  # numbered options
    assert sent[0].status_callback == f"{PUBLIC}/webhooks/twilio/status"
    await inbound(client, fake_twilio, "2")
    sent = await fake_twilio.wait_for_sent(3, to=JONGERE)
    assert "What can I help you with?" in sent[2].body


async def test_unsigned_and_forged_webhooks_are_403_and_store_nothing(wa, fake_twilio):
    rt, client = wa
    unsigned = await client.post("/webhooks/twilio/whatsapp", data=inbound_whatsapp_params(from_=JONGERE))
    forged = await inbound(client, fake_twilio, token="not-the-real-token")
    assert unsigned.status_code == 403 and forged.status_code == 403
    status = await client.post("/webhooks/twilio/status", data=status_callback_params("SM1", "delivered"))
    assert status.status_code == 403
    async with rt.db.session() as s:
        assert (await s.execute(select(func.count(Message.id)))).scalar_one() == 0


async def test_same_message_sid_twice_gives_one_reply(wa, fake_twilio):
    rt, client = wa
    await inbound(client, fake_twilio, "hoi", sid="SM" + "a" * 32)
    await inbound(client, fake_twilio, "hoi", sid="SM" + "a" * 32)
    await fake_twilio.wait_for_sent(2, to=JONGERE)
    await rt.sender.drain_once()
    assert len(fake_twilio.messages_to(JONGERE)) == 2


async def test_quick_reply_button_payload_round_trip(wa, fake_twilio):
    _, client = wa
    await inbound(client, fake_twilio, "hoi")
    await fake_twilio.wait_for_sent(2, to=JONGERE)
    await inbound(client, fake_twilio, "English", button_payload="lang:en", button_text="English")
    sent = await fake_twilio.wait_for_sent(3, to=JONGERE)
    assert "What can I help you with?" in sent[2].body


async def _queue_proactive(rt, kind: str) -> int:
    async with rt.db.transaction() as s:
        identity = (await s.execute(select(ChannelIdentity))).scalar_one()
        item = OutboxItem(identity_id=identity.id, channel="whatsapp", address=JONGERE, kind=kind,
                          payload={"text": "Hoi, hoe gaat het met je?", "buttons": [], "links": []})
        s.add(item)
        await s.flush()
        return item.id


async def _age_window(rt, hours: int) -> None:
    async with rt.db.transaction() as s:
        await s.execute(update(ChannelIdentity).values(last_inbound_at=utcnow() - timedelta(hours=hours)))


async def test_outside_24h_uses_the_template_or_tells_the_coach(wa, fake_twilio):
    rt, client = wa
    await inbound(client, fake_twilio, "hoi")
    await fake_twilio.wait_for_sent(2, to=JONGERE)
    await _age_window(rt, 25)
    with_template = await _queue_proactive(rt, "bericht_van_begeleider")
    without_template = await _queue_proactive(rt, "nazorg_checkin")
    rt.sender.wake()
    sent = await fake_twilio.wait_for_sent(3, to=JONGERE)
    assert sent[2].content_sid == "HX" + "1" * 32 and sent[2].body == ""
    for _ in range(50):
        await rt.sender.drain_once()
        async with rt.db.session() as s:
            rows = {r.id: r for r in (await s.execute(select(OutboxItem))).scalars()}
            tickets = (await s.execute(select(Ticket))).scalars().all()
        if rows[without_template].state == "failed":
            break
    assert rows[with_template].state == "sent"
    assert rows[without_template].state == "failed" and "24-uursvenster" in (rows[without_template].last_error or "")
    assert [t.kind for t in tickets] == ["onbereikbaar"]
    assert len(fake_twilio.messages_to(JONGERE)) == 3  # nothing sent for the template-less kind


async def test_inside_24h_free_text_for_proactive_messages(wa, fake_twilio):
    rt, client = wa
    await inbound(client, fake_twilio, "hoi")
    await fake_twilio.wait_for_sent(2, to=JONGERE)
    await _age_window(rt, 23)
    await _queue_proactive(rt, "nazorg_checkin")
    rt.sender.wake()
    sent = await fake_twilio.wait_for_sent(3, to=JONGERE)
    assert sent[2].body == "Hoi, hoe gaat het met je?" and sent[2].content_sid is None


async def test_stop_is_honoured_for_proactive_messages(wa, fake_twilio):
    rt, client = wa
    await inbound(client, fake_twilio, "hoi")
    await inbound(client, fake_twilio, "stop")
    await fake_twilio.wait_for_sent(3, to=JONGERE)
    await _queue_proactive(rt, "nazorg_checkin")
    for _ in range(5):
        await rt.sender.drain_once()
    assert len(fake_twilio.messages_to(JONGERE)) == 3
    async with rt.db.session() as s:
        last = (await s.execute(select(OutboxItem).order_by(OutboxItem.id.desc()).limit(1))).scalar_one()
    assert last.state == "failed" and "afgemeld" in (last.last_error or "")


async def test_status_callback_updates_the_outbox_row(wa, fake_twilio):
    rt, client = wa
    await inbound(client, fake_twilio, "hoi")
    sent = await fake_twilio.wait_for_sent(2, to=JONGERE)
    for message, status in ((sent[0], "delivered"), (sent[1], "undelivered")):
        params = status_callback_params(message.sid, status, error_code=63016 if status == "undelivered" else None)
        r = await post_signed_form("/webhooks/twilio/status", params, fake_twilio.auth_token,
                                   sign_url=f"{PUBLIC}/webhooks/twilio/status", client=client)
        assert r.status_code == 200
    async with rt.db.session() as s:
        rows = (await s.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars().all()
        tickets = (await s.execute(select(Ticket.kind))).scalars().all()
    assert rows[0].delivery_status == "delivered" and rows[0].state == "sent"
    assert rows[1].state == "failed" and "63016" in (rows[1].last_error or "")
    assert tickets == ["onbereikbaar"]


async def test_429_from_twilio_is_retried(wa, fake_twilio):
    _, client = wa
    fake_twilio.fail_next(429, 20429)
    await inbound(client, fake_twilio, "hoi")
    sent = await fake_twilio.wait_for_sent(2, to=JONGERE, timeout=10)
    assert "Welkom" in sent[0].body
