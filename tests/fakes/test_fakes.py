"""Drive the platform fakes with the real libraries over real HTTP, and check the network guard."""

from __future__ import annotations

import asyncio
import datetime as dtm
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes import (
    BaseUrlAsyncHttpClient,
    FakeTelegramAPI,
    FakeTwilioAPI,
    LiveServer,
    inbound_whatsapp_params,
    post_signed_form,
    signed_form,
    status_callback_params,
)
from tests.network_guard import NetworkAccessBlocked, guard, is_allowed_host

TOKEN = "123:ABC"
CHAT = 31612345678 % 10**9  # a private chat id
OTHER_CHAT = 555_000_111


# ================================================================================= fixtures


@pytest.fixture(autouse=True)
def _guarded() -> Iterator[None]:
    """Keep the network guard on for these tests even when the plugin is not registered."""
    with guard.installed_for():
        yield


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's future timedelta durations (avoids deprecation warnings)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(scope="module")
def telegram_server() -> Iterator[FakeTelegramAPI]:
    """Serve one fake Bot API for the module."""
    with guard.installed_for(), FakeTelegramAPI(TOKEN) as fake:
        yield fake


@pytest.fixture
def telegram(telegram_server: FakeTelegramAPI) -> FakeTelegramAPI:
    """Return the fake Bot API with a clean state."""
    telegram_server.reset()
    return telegram_server


@pytest.fixture
async def bot(telegram: FakeTelegramAPI) -> AsyncIterator[Bot]:
    """Return an initialised PTB bot (from an Application) talking to the fake."""
    app = Application.builder().token(TOKEN).base_url(f"{telegram.base_url}/bot").updater(None).build()
    async with app:
        yield app.bot


@pytest.fixture(scope="module")
def twilio_server() -> Iterator[FakeTwilioAPI]:
    """Serve one fake Twilio REST API for the module."""
    with guard.installed_for(), FakeTwilioAPI() as fake:
        yield fake


@pytest.fixture
def twilio(twilio_server: FakeTwilioAPI) -> FakeTwilioAPI:
    """Return the fake Twilio API with a clean state."""
    twilio_server.reset()
    return twilio_server


class Receiver:
    """A tiny webhook receiver standing in for our app: records requests, checks secrets."""

    def __init__(self, telegram_secret: str, twilio_token: str, public_base: str | None = None) -> None:
        self.telegram_secret = telegram_secret
        self.twilio_token = twilio_token
        self.validator = RequestValidator(twilio_token)
        self.public_base = public_base
        self.telegram_updates: list[Update] = []
        self.twilio_forms: list[dict[str, str]] = []
        self.app = Starlette(
            routes=[
                Route("/telegram", self.telegram, methods=["POST"]),
                Route("/twilio", self.twilio, methods=["POST"]),
            ]
        )

    async def telegram(self, request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.telegram_secret:
            return Response(status_code=403)
        self.telegram_updates.append(Update.de_json(await request.json(), None))
        return Response(status_code=200)

    async def twilio(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        url = str(request.url) if self.public_base is None else self.public_base + request.url.path
        if not self.validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            return Response(status_code=403)
        self.twilio_forms.append(form)
        return JSONResponse({"ok": True})


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, LiveServer]]:
    """Serve a webhook receiver on loopback."""
    recv = Receiver("s3cr3t-Token_1", FakeTwilioAPI().auth_token)
    with LiveServer(recv.app) as server:
        yield recv, server


# ============================================================================= LiveServer


def test_live_server_serves_and_restarts_on_the_same_port() -> None:
    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": request.url.path})

    server = LiveServer(Starlette(routes=[Route("/{p:path}", hello)]))
    with server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url("/x"), trust_env=False).json() == {"hello": "/x"}
        port = server.port
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url("/x"), trust_env=False)
    with server:
        assert server.port == port
        assert httpx.get(server.url("/y"), trust_env=False).json() == {"hello": "/y"}


async def test_live_server_as_async_context_manager() -> None:
    async def ok(request: Request) -> Response:
        return Response("ok")

    server = LiveServer(Starlette(routes=[Route("/", ok)]))
    async with server, httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(server.base_url)).text == "ok"
    assert not server.running


# =============================================================================== Telegram


async def test_get_me_through_application_initialize(telegram: FakeTelegramAPI) -> None:
    app = Application.builder().token(TOKEN).base_url(f"{telegram.base_url}/bot").updater(None).build()
    async with app:  # initialize() calls getMe
        assert app.bot.username == telegram.bot_username
        assert app.bot.id == 123
        me = await app.bot.get_me()
        assert me.is_bot and me.first_name == "Jongerenloket"
    assert [c.method for c in telegram.calls] == ["getMe", "getMe"]


async def test_wrong_token_is_invalid_token(telegram: FakeTelegramAPI) -> None:
    app = Application.builder().token("999:WRONG").base_url(f"{telegram.base_url}/bot").updater(None).build()
    with pytest.raises(InvalidToken):
        await app.initialize()


async def test_send_message_returns_a_message_and_is_recorded(telegram: FakeTelegramAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="intake:ja")]])
    first = await bot.send_message(CHAT, "Hoi! Waar kan ik je mee helpen?", reply_markup=keyboard)
    second = await bot.send_message(CHAT, "Tweede bericht")
    other = await bot.send_message(OTHER_CHAT, "Ander gesprek")

    assert isinstance(first, Message)
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.id == CHAT and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert first.reply_markup == keyboard
    assert first.date.tzinfo is not None

    sent = await telegram.wait_for_sent(3)
    assert [m.text for m in telegram.messages_to(CHAT)] == [
        "Hoi! Waar kan ik je mee helpen?",
        "Tweede bericht",
    ]
    assert sent[0].chat_id == CHAT  # PTB sends "31612345678"-style strings; the fake stores ints
    assert sent[0].callback_data == ["intake:ja"] and sent[0].button_texts == ["Ja"]
    assert sent[1].reply_markup is None


async def test_send_message_validation(telegram: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "a" * 4097)
    assert (await bot.send_message(CHAT, "a" * 4096)).text == "a" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, "   ")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        await bot.send_message(CHAT, "knop", reply_markup=too_long)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message("not-a-chat", "hoi")
    assert len(telegram.sent) == 1


async def test_429_surfaces_as_retry_after(telegram: FakeTelegramAPI, bot: Bot) -> None:
    telegram.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(CHAT, "te snel")
    assert info.value.retry_after == dtm.timedelta(seconds=7)
    assert telegram.calls[-1].status == 429
    await bot.send_message(CHAT, "nu wel")  # times=1: the next call succeeds
    assert [m.text for m in telegram.sent] == ["nu wel"]


async def test_injected_failures_map_to_ptb_errors(telegram: FakeTelegramAPI, bot: Bot) -> None:
    telegram.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
    telegram.fail_next("sendMessage", status=500, times=2, chat_id=OTHER_CHAT)
    with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
        await bot.send_message(CHAT, "x")
    await bot.send_message(CHAT, "chat filter lets this through")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(OTHER_CHAT, "x")
    await bot.send_message(OTHER_CHAT, "hersteld")
    assert len(telegram.sent) == 2


async def test_blocked_chat_is_forbidden(telegram: FakeTelegramAPI, bot: Bot) -> None:
    telegram.block_chat(CHAT)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "hoi")
    await bot.send_message(OTHER_CHAT, "hoi")
    telegram.unblock_chat(CHAT)
    await bot.send_message(CHAT, "weer welkom")
    assert [m.chat_id for m in telegram.sent] == [OTHER_CHAT, CHAT]


async def test_rate_limit_answers_429_and_counts_violations(telegram: FakeTelegramAPI, bot: Bot) -> None:
    telegram.rate_limit(per_chat_per_sec=1)
    await bot.send_message(CHAT, "een")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(CHAT, "twee")
    assert info.value.retry_after == dtm.timedelta(seconds=1)
    await bot.send_message(OTHER_CHAT, "andere chat mag wel")
    assert telegram.violations == 1 and telegram.violations_by_chat == {CHAT: 1}

    telegram.rate_limit(global_per_sec=0.5, global_burst=5)  # 5 at once, then one per 2 s
    results = await asyncio.gather(*(bot.send_message(1000 + i, "bulk") for i in range(8)), return_exceptions=True)
    assert sum(isinstance(r, RetryAfter) for r in results) == 3
    assert telegram.violations == 4
    telegram.rate_limit()  # off
    await asyncio.gather(*(bot.send_message(CHAT, "vrij") for _ in range(5)))


async def test_get_updates_returns_pushed_updates_parsed_by_ptb(telegram: FakeTelegramAPI, bot: Bot) -> None:
    first = telegram.push_text(CHAT, "/start", first_name="Sanne")
    telegram.push_text(CHAT, "ik zoek werk")
    telegram.push_photo(CHAT, caption="mijn cv")
    telegram.push_voice(CHAT)
    telegram.push_sticker(CHAT)
    telegram.push_location(CHAT)
    last = telegram.push_edited_text(CHAT, 2, "ik zoek een baan")

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == list(range(first, last + 1))
    start = updates[0].message
    assert start is not None and start.text == "/start" and start.from_user is not None
    assert start.from_user.first_name == "Sanne" and start.chat.id == CHAT
    assert start.entities[0].type == "bot_command"
    assert updates[1].message is not None and updates[1].message.text == "ik zoek werk"
    assert updates[2].message is not None and updates[2].message.photo[-1].width == 1280
    assert updates[2].message.caption == "mijn cv"
    assert updates[3].message is not None and updates[3].message.voice is not None
    assert updates[4].message is not None and updates[4].message.sticker is not None
    assert updates[5].message is not None and updates[5].message.location is not None
    assert updates[6].edited_message is not None and updates[6].edited_message.text == "ik zoek een baan"
    assert updates[6].edited_message.message_id == 2

    # Confirming with offset forgets what came before; the same updates are not returned twice.
    assert await bot.get_updates(offset=last + 1, timeout=0) == ()
    assert telegram.pending_updates == []


async def test_get_updates_long_polls_and_honours_allowed_updates(telegram: FakeTelegramAPI, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, telegram.push_text, CHAT, "daar ben ik")
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert 0.15 < time.monotonic() - started < 1.9  # woken by the push, not by the 2 s cap
    assert updates[0].message is not None and updates[0].message.text == "daar ben ik"

    started = time.monotonic()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=30) == ()
    waited = time.monotonic() - started
    assert waited > 1.8 and waited < 5  # capped at max_poll_timeout (2 s)

    telegram.push_text(CHAT, "tekst")
    button = telegram.push_callback(CHAT, "menu:werk", message_id=99)
    only_buttons = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.update_id for u in only_buttons] == [button]


async def test_second_poller_terminates_the_first(telegram: FakeTelegramAPI, bot: Bot) -> None:
    # PTB gives getUpdates its own connection pool of size 1, so the rival poller is a second bot,
    # as if a second instance of the service were started with the same token.
    first = asyncio.create_task(bot.get_updates(timeout=2))
    await asyncio.sleep(0.2)
    async with Bot(TOKEN, base_url=f"{telegram.base_url}/bot") as rival:
        assert await rival.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
        await first


async def test_webhook_blocks_polling_and_delivers_with_secret(
    telegram: FakeTelegramAPI, bot: Bot, receiver: tuple[Receiver, LiveServer]
) -> None:
    recv, server = receiver
    url = server.url("/telegram")
    assert await bot.set_webhook(url, secret_token=recv.telegram_secret, allowed_updates=["message"])
    assert telegram.webhook.url == url and telegram.webhook.secret_token == recv.telegram_secret
    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates()

    update_id = telegram.push_text(CHAT, "via webhook")
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 1 and info.allowed_updates == ("message",)

    denied = await telegram.deliver_webhook(url, update_id, secret_token="wrong")
    assert denied.status_code == 403
    responses = await telegram.deliver_pending_webhooks()
    assert [r.status_code for r in responses] == [200]
    assert recv.telegram_updates[0].update_id == update_id
    message = recv.telegram_updates[0].message
    assert message is not None and message.text == "via webhook"
    assert (await bot.get_webhook_info()).pending_update_count == 0

    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook(url, secret_token="not allowed!")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == ()


async def test_callback_query_round_trip(telegram: FakeTelegramAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Werk", callback_data="menu:werk"),
                InlineKeyboardButton("Geld", callback_data="menu:geld"),
            ]
        ]
    )
    sent = await bot.send_message(CHAT, "Waar gaat het over?", reply_markup=keyboard)
    telegram.push_callback(CHAT, "menu:geld", sent.message_id)

    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert isinstance(query, CallbackQuery) and query.data == "menu:geld"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert isinstance(query.message, Message) and query.message.reply_markup == keyboard

    assert await query.answer("Top!")
    assert [(a.callback_query_id, a.text) for a in telegram.answered_callbacks] == [(query.id, "Top!")]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()

    edited = await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    assert isinstance(edited, Message) and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_reply_markup(CHAT, 12345, reply_markup=keyboard)
    edited = await bot.edit_message_text("Gekozen: Geld", CHAT, sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Gekozen: Geld"


async def test_unknown_method_is_recorded_and_404(telegram: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar", api_kwargs={"chat_id": CHAT})
    assert telegram.unknown_methods == ["fooBar"]
    assert telegram.calls[-1].status == 404


async def test_application_polling_echo(telegram: FakeTelegramAPI) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        await update.effective_message.reply_text(f"Je zei: {update.effective_message.text}")

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    app = Application.builder().token(TOKEN).base_url(f"{telegram.base_url}/bot").build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=10, poll_interval=0)
        telegram.push_text(CHAT, "hallo")
        telegram.push_callback(CHAT, "x", 1)
        (reply,) = await telegram.wait_for_sent(1)
        assert reply.text == "Je zei: hallo" and reply.chat_id == CHAT
        await telegram.wait_for_calls("answerCallbackQuery")
        await app.updater.stop()
        await app.stop()
    methods = [c.method for c in telegram.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    polls = telegram.calls_to("getUpdates")
    assert polls[0].params["timeout"] == 10 and polls[0].params["offset"] == 0
    # On stop PTB cancels its long poll and confirms the offset with timeout=0; the abandoned
    # poll is recorded as 499 (nobody received an answer), never as a visible 409.
    assert any(p.params["timeout"] == 0 and p.status == 200 for p in polls)
    assert all(p.status in (200, 499) for p in polls)
    assert telegram.pending_updates == []


_LOAD_SCRIPT = """
import asyncio, sys, time
import aiohttp

async def main(url, n, workers):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=workers)) as session:
        numbers = iter(range(n))

        async def worker():
            for i in numbers:
                data = {"chat_id": str(1000 + i % 200), "text": f"bericht {i}"}
                async with session.post(url, data=data) as response:
                    await response.read()
                    assert response.status == 200, response.status

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        print(n / (time.perf_counter() - started))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


async def _bare_asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """Answer every request with a fixed Bot API message: the floor uvicorn itself allows."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    body = b'{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"text":"x"}}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _load(url: str, n: int, workers: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, url, str(n), str(workers)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(result.stdout.strip())


def test_sustains_1500_send_message_calls_per_second(telegram: FakeTelegramAPI) -> None:
    # The load comes from another process: in this one the client would share the GIL with the
    # server thread and measure itself. (PTB/httpx in-process reaches a few hundred calls/s.)
    # Absolute rates depend on what else the machine is doing, so the fake is also measured
    # against a bare ASGI app under the same uvicorn, interleaved, best of two each: the fake
    # must stay close to that floor, and above 1500/s whenever the floor shows a machine that
    # is not starved (idle 2-core box: floor ~3000/s, fake ~2300-3800/s).
    n, workers = 2000, 16
    url = f"{telegram.base_url}/bot{TOKEN}/sendMessage"
    fake_rates, floor_rates = [], []
    with LiveServer(_bare_asgi_app) as bare:
        for _ in range(2):
            floor_rates.append(_load(bare.url(f"/bot{TOKEN}/sendMessage"), n, workers))
            fake_rates.append(_load(url, n, workers))
    fake, floor = max(fake_rates), max(floor_rates)
    print(f"fake Bot API: {fake:.0f} sendMessage/s over {workers} connections (bare uvicorn {floor:.0f}/s)")
    assert len(telegram.sent) == 2 * n
    assert fake > 0.6 * floor, f"fake {fake:.0f}/s is far below bare uvicorn {floor:.0f}/s"
    if floor > 2500:
        assert fake > 1500, f"only {fake:.0f} sendMessage/s"


async def test_ptb_concurrent_sends_through_fake(telegram: FakeTelegramAPI) -> None:
    app = Application.builder().token(TOKEN).base_url(f"{telegram.base_url}/bot").updater(None).build()
    limit = asyncio.Semaphore(16)

    async def send(i: int) -> Message:
        async with limit:
            return await app.bot.send_message(2000 + i % 10, f"nazorg {i}")

    async with app:
        started = time.perf_counter()
        messages = await asyncio.gather(*(send(i) for i in range(300)))
        elapsed = time.perf_counter() - started
    print(f"PTB in-process through fake: {300 / elapsed:.0f} sendMessage/s")
    assert len(telegram.sent) == 300
    assert sorted(m.message_id for m in messages if m.chat.id == 2000) == list(range(1, 31))


def test_sync_use_json_body_and_stats(telegram: FakeTelegramAPI) -> None:
    url = f"{telegram.base_url}/bot{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "ja"}]]}
    response = httpx.post(url, json={"chat_id": CHAT, "text": "json", "reply_markup": markup}, trust_env=False)
    assert response.json()["result"]["reply_markup"] == markup
    (sent,) = telegram.wait_for_sent_sync(1, chat_id=CHAT)
    assert sent.text == "json" and sent.callback_data == ["ja"]
    stats = httpx.get(f"{telegram.base_url}/_fake/stats", trust_env=False).json()
    assert stats["sent"] == 1 and stats["calls"] == 1


# ================================================================================= Twilio


async def test_twilio_async_client_reaches_fake_via_base_url_http_client(twilio: FakeTwilioAPI) -> None:
    client = Client(twilio.account_sid, twilio.auth_token, http_client=BaseUrlAsyncHttpClient(twilio.base_url))
    try:
        message = await client.messages.create_async(
            to="whatsapp:+31612345678",
            from_="whatsapp:+14155238886",
            body="Hoi! Je afspraak met Anouk is morgen om 10:00.",
            status_callback="https://bot.example.nl/webhooks/twilio/status",
        )
    finally:
        await client.http_client.close()
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued" and message.to == "whatsapp:+31612345678"
    assert message.error_code is None and message.date_created is not None
    (recorded,) = twilio.sent
    assert recorded.sid == message.sid and recorded.body.startswith("Hoi!")
    assert recorded.status_callback == "https://bot.example.nl/webhooks/twilio/status"
    assert twilio.calls[-1].authenticated and twilio.calls[-1].status == 201


async def test_twilio_plain_async_client_with_api_base_url(twilio: FakeTwilioAPI) -> None:
    client = Client(twilio.account_sid, twilio.auth_token, http_client=AsyncTwilioHttpClient())
    client.api.base_url = twilio.base_url  # moves only the api.twilio.com domain
    try:
        message = await client.messages.create_async(
            to="whatsapp:+31612345678",
            from_="whatsapp:+14155238886",
            content_sid="HX" + "a" * 32,
            content_variables='{"1": "Sanne", "2": "dinsdag"}',
        )
        fetched = await client.messages(message.sid).fetch_async()
        listed = await client.messages.list_async(limit=5)
    finally:
        await client.http_client.close()
    assert fetched.sid == message.sid and [m.sid for m in listed] == [message.sid]
    assert twilio.sent[0].content_variables == {"1": "Sanne", "2": "dinsdag"}


async def test_twilio_rejects_bad_credentials_and_injects_errors(twilio: FakeTwilioAPI) -> None:
    bad = Client(twilio.account_sid, "wrong", http_client=BaseUrlAsyncHttpClient(twilio.base_url))
    good = twilio.client()
    try:
        with pytest.raises(TwilioRestException) as info:
            await bad.messages.create_async(to="whatsapp:+31612345678", from_="whatsapp:+1415", body="x")
        assert info.value.status == 401 and info.value.code == 20003

        twilio.fail_next(429, 20429)
        twilio.fail_next(400, 63016)
        twilio.fail_next(500, 20500)
        kwargs: dict[str, Any] = {
            "to": "whatsapp:+31612345678",
            "from_": "whatsapp:+14155238886",
            "body": "x",
        }
        for status, code in ((429, 20429), (400, 63016), (500, 20500)):
            with pytest.raises(TwilioRestException) as info:
                await good.messages.create_async(**kwargs)
            assert (info.value.status, info.value.code) == (status, code)
        with pytest.raises(TwilioRestException) as info:
            await good.messages.create_async(to="+31612345678", from_="whatsapp:+14155238886", body="x")
        assert info.value.code == 21910
        with pytest.raises(TwilioRestException) as info:
            await good.messages.create_async(to="whatsapp:+31612345678", from_="whatsapp:+14155238886")
        assert info.value.code == 21602
        await good.messages.create_async(**kwargs)
    finally:
        await bad.http_client.close()
        await good.http_client.close()
    assert len(twilio.sent) == 1
    assert [c.status for c in twilio.calls] == [401, 429, 400, 500, 400, 400, 201]


async def test_outside_window_fails_later_via_signed_status_callback(
    twilio: FakeTwilioAPI, receiver: tuple[Receiver, LiveServer]
) -> None:
    recv, server = receiver
    callback = server.url("/twilio")
    twilio.close_window("whatsapp:+31600000001")
    client = twilio.client()
    try:
        late = await client.messages.create_async(
            to="whatsapp:+31600000001",
            from_="whatsapp:+14155238886",
            body="Hoe gaat het?",
            status_callback=callback,
        )
        ok = await client.messages.create_async(
            to="whatsapp:+31600000002",
            from_="whatsapp:+14155238886",
            body="Hoe gaat het?",
            status_callback=callback,
        )
    finally:
        await client.http_client.close()
    assert late.status == "queued" and late.error_code is None  # the create call itself succeeds

    responses = await twilio.flush_status_callbacks()
    assert [r.status_code for r in responses] == [200, 200, 200]
    statuses = [(f["MessageSid"], f["MessageStatus"], f.get("ErrorCode")) for f in recv.twilio_forms]
    assert statuses == [(late.sid, "failed", "63016"), (ok.sid, "sent", None), (ok.sid, "delivered", None)]
    assert twilio.get_message(late.sid).status == "failed"


def test_signed_webhook_validates_and_tampered_does_not() -> None:
    token = "tok_" + "9" * 28
    url = "https://bot.example.nl/webhooks/whatsapp?tenant=almere"
    params = inbound_whatsapp_params(body="Ik wil met iemand praten", profile_name="Sanne")
    headers, body = signed_form(url, params, token)
    validator = RequestValidator(token)
    assert validator.validate(url, body, headers["X-Twilio-Signature"])

    assert not validator.validate(url, {**body, "Body": "Ik wil stoppen"}, headers["X-Twilio-Signature"])
    assert not validator.validate(url.replace("https", "http"), body, headers["X-Twilio-Signature"])
    assert not RequestValidator("other").validate(url, body, headers["X-Twilio-Signature"])

    assert body["MessageSid"].startswith("SM") and body["MessageSid"] == body["SmsMessageSid"]
    assert body["WaId"] == "31612345678" and body["NumMedia"] == "0" and body["ApiVersion"] == "2010-04-01"
    with_media = inbound_whatsapp_params(num_media=2)
    assert with_media["MessageSid"].startswith("MM") and "MediaUrl1" in with_media
    tapped = inbound_whatsapp_params(body="Ja", button_payload="checkin:goed")
    assert tapped["ButtonPayload"] == "checkin:goed" and tapped["ButtonText"] == "Ja"
    status = status_callback_params("SM" + "1" * 32, "undelivered", 63016)
    assert status["MessageStatus"] == "undelivered" and status["ErrorCode"] == "63016"


async def test_signed_webhook_over_http_with_public_url(receiver: tuple[Receiver, LiveServer]) -> None:
    recv, server = receiver
    recv.public_base = "https://bot.example.nl"  # the app rebuilds the public URL behind the proxy
    params = inbound_whatsapp_params()
    ok = await post_signed_form(
        server.url("/twilio"), params, recv.twilio_token, sign_url="https://bot.example.nl/twilio"
    )
    assert ok.status_code == 200 and recv.twilio_forms == [params]
    tampered = await post_signed_form(server.url("/twilio"), params, recv.twilio_token)
    assert tampered.status_code == 403


# ========================================================================== network guard


@pytest.mark.parametrize("address", ["10.255.255.1", "93.184.216.34", "::ffff:93.184.216.34", "2001:db8::1"])
def test_guard_blocks_connects_outside_loopback(address: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with guard.expect_blocked() as attempts:
        sock = socket.socket(family, socket.SOCK_STREAM)
        with sock, pytest.raises(NetworkAccessBlocked, match="outside loopback"):
            sock.connect((address, 80))
        with socket.socket(family, socket.SOCK_STREAM) as sock2, pytest.raises(NetworkAccessBlocked):
            sock2.connect_ex((address, 443))
        with pytest.raises(NetworkAccessBlocked):
            socket.create_connection((address, 80), timeout=0.5)
    assert len(attempts) == 3 and all(address in a for a in attempts)


def test_guard_blocks_dns_and_http_clients() -> None:
    with guard.expect_blocked() as attempts:
        with pytest.raises(NetworkAccessBlocked):
            socket.getaddrinfo("api.telegram.org", 443)
        with pytest.raises(NetworkAccessBlocked):
            httpx.get("http://93.184.216.34/", trust_env=False, timeout=0.5)
        with pytest.raises(NetworkAccessBlocked):
            httpx.get("https://example.org/", trust_env=False, timeout=0.5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(NetworkAccessBlocked):
            udp.sendto(b"\x00", ("8.8.8.8", 53))
    assert len(attempts) == 4


def _blocked_in(exc: BaseException | None) -> bool:
    """Return whether NetworkAccessBlocked is ``exc`` or hides in its causes or exception groups."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NetworkAccessBlocked):
            return True
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend([current.__cause__, current.__context__])
    return False


async def test_guard_blocks_async_clients(telegram: FakeTelegramAPI) -> None:
    with guard.expect_blocked() as attempts:
        async with httpx.AsyncClient(trust_env=False, timeout=0.5) as client:
            with pytest.raises(BaseException) as info:  # anyio wraps it in an ExceptionGroup
                await client.get("http://10.255.255.1/")
            assert _blocked_in(info.value)
        twilio_client = Client("AC" + "0" * 32, "x", http_client=AsyncTwilioHttpClient())
        try:
            with pytest.raises(BaseException) as info:
                await twilio_client.messages.create_async(to="+31612345678", from_="+3197010", body="x")
            assert _blocked_in(info.value)
        finally:
            await twilio_client.http_client.close()
        real_telegram = Bot(TOKEN)  # default base_url: the real Bot API
        try:
            with pytest.raises(NetworkError) as info:
                await real_telegram.initialize()
            assert _blocked_in(info.value)
        finally:
            await real_telegram.shutdown()
    assert len(attempts) >= 3
    assert any("api.telegram.org" in a for a in attempts) and any("api.twilio.com" in a for a in attempts)
    # The same bot class is fine against the fake.
    async with Bot(TOKEN, base_url=f"{telegram.base_url}/bot") as fake_bot:
        assert fake_bot.username == telegram.bot_username


def test_guard_allows_loopback_and_unix_sockets(tmp_path: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
        with socket.create_connection(("localhost", port), timeout=1):
            pass
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            assert sock.connect_ex(("127.0.0.2", port)) != 0 or True  # allowed, may be refused
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo(None, 80)
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix_listener:
        unix_listener.bind(path)
        unix_listener.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix_client:
            unix_client.connect(path)
    assert is_allowed_host("::1") and is_allowed_host("127.8.9.10") and is_allowed_host("[::1]")
    assert not is_allowed_host("0.0.0.0") and not is_allowed_host("example.org")
    assert guard.violations == []


_SWALLOWING_TESTS = """
import socket


def test_swallows_the_error():
    try:
        socket.create_connection(("93.184.216.34", 80), timeout=0.5)
    except Exception:
        pass


def test_stays_on_loopback():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
"""


def test_plugin_fails_a_test_that_swallows_the_error(tmp_path: Any) -> None:
    (tmp_path / "test_swallow.py").write_text(_SWALLOWING_TESTS)
    root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.network_guard", "-p", "no:cacheprovider", "-q", "."],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "network access outside loopback during the test" in result.stdout
    assert "create_connection(('93.184.216.34', 80))" in result.stdout
