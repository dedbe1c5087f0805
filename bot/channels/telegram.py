"""Telegram through python-telegram-bot 22: updates in (webhook or polling), replies out.

The adapter translates only: Update → IncomingMessage, Reply → sendMessage. It decides nothing.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.base import OutboundItem, SendResult, split_text
from bot.ratelimit import ChannelPacer
from flows.messages import IncomingMessage, Reply

log = logging.getLogger(__name__)

MAX_TEXT = 4096
ALLOWED_UPDATES = ["message", "callback_query"]
Handle = Callable[[IncomingMessage], Awaitable[Any]]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Render buttons as an inline keyboard (one button a row, callback_data ≤ 64 bytes)."""
    if not reply.buttons:
        return None
    rows = [[InlineKeyboardButton(b.title, callback_data=b.payload.encode()[:64].decode("utf-8", "ignore"))]
            for b in reply.buttons]
    return InlineKeyboardMarkup(rows)


def _button_title(update: Update, data: str) -> str:
    """Return the title of the pressed button, read from the message it was on."""
    query = update.callback_query
    markup = query.message.reply_markup if query and query.message and hasattr(query.message, "reply_markup") \
        else None
    for row in (markup.inline_keyboard if markup else ()):
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return data


def translate(update: Update) -> IncomingMessage | None:
    """Turn a Telegram update into an IncomingMessage (None for what we do not handle)."""
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message else None
        if chat is None or query.data is None:
            return None
        return IncomingMessage(channel="telegram", identity=f"telegram:{chat.id}",
                               text=_button_title(update, query.data), payload=query.data,
                               channel_message_id=f"u{update.update_id}")
    message = update.message
    if message is None:
        return None  # edited messages, channel posts: ignored, consistently (allowed_updates excludes them)
    identity = f"telegram:{message.chat.id}"
    name = message.from_user.first_name if message.from_user else None
    common: dict[str, Any] = {"channel": "telegram", "identity": identity,
                              "channel_message_id": f"u{update.update_id}", "display_name": name,
                              "received_at": message.date}
    if message.text is not None:
        text = message.text
        if text.startswith("/start"):
            code = text[len("/start"):].strip()
            return IncomingMessage(text="/start", meta={"start_code": code[:64]} if code else {}, **common)
        return IncomingMessage(text=text, **common)
    kind, meta = "other", dict[str, Any]()
    if message.photo:
        kind, meta = "photo", {"width": message.photo[-1].width, "height": message.photo[-1].height}
    elif message.voice:
        kind, meta = "voice", {"duration": str(message.voice.duration)}
    elif message.sticker:
        kind, meta = "sticker", {"emoji": message.sticker.emoji}
    elif message.document:
        kind, meta = "document", {"mime_type": message.document.mime_type, "size": message.document.file_size}
    elif message.location:
        kind, meta = "location", {}
    elif message.video or message.video_note:
        kind = "video"
    return IncomingMessage(text=message.caption or "", kind=kind, meta=meta, **common)


class TelegramChannel:
    """One bot: receives through polling or our webhook route, sends what the outbox holds."""

    name = "telegram"

    def __init__(self, token: str, handle: Handle, *, base_url: str = "https://api.telegram.org/bot",
                 public_base_url: str = "", webhook_secret: str = "", global_rate: float = 30.0,
                 per_chat_rate: float = 1.0, per_chat_burst: float = 3.0,
                 on_unreachable: Callable[[str, str], Awaitable[None]] | None = None) -> None:
        self.handle = handle
        self.webhook = bool(public_base_url)
        self.public_base_url = public_base_url.rstrip("/")
        self.webhook_secret = webhook_secret
        self.pacer = ChannelPacer(global_rate, per_chat_rate, per_chat_burst)
        # PTB's default pool has one connection: every send would queue behind the previous one.
        builder = (Application.builder().token(token).base_url(base_url)
                   .connection_pool_size(64).pool_timeout(10.0))
        if self.webhook:
            builder = builder.updater(None)
        self.app = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a button press at once, then hand the message to the dispatcher."""
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except (NetworkError, BadRequest) as exc:
                log.warning("callback answer failed", extra={"error": type(exc).__name__})
        incoming = translate(update)
        if incoming is not None:
            await self.handle(incoming)

    async def start(self) -> None:
        """Connect (getMe), then register the webhook or start polling."""
        try:
            await self.app.initialize()
        except InvalidToken:
            log.error("telegram token rejected; telegram stays off")
            raise
        await self.app.start()
        if self.webhook:
            await self.app.bot.set_webhook(url=f"{self.public_base_url}/webhooks/telegram",
                                           secret_token=self.webhook_secret or None,
                                           allowed_updates=ALLOWED_UPDATES)
            log.info("telegram webhook registered")
        else:
            await self.app.bot.delete_webhook()
            assert self.app.updater is not None
            await self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0.0, timeout=10)
            log.info("telegram polling started")

    async def stop(self) -> None:
        """Stop polling and close the connections."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    def routes(self) -> list[Route]:
        """Return the webhook route (only in webhook mode)."""
        return [Route("/webhooks/telegram", self.receive_webhook, methods=["POST"])] if self.webhook else []

    async def receive_webhook(self, request: Request) -> Response:
        """Check the secret token, then process the update; 403 and nothing stored when it is wrong."""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not self.webhook_secret or not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return Response(status_code=HTTPStatus.FORBIDDEN)
        try:
            update = Update.de_json(await request.json(), self.app.bot)
        except Exception:
            return Response(status_code=HTTPStatus.BAD_REQUEST)
        if update is not None:
            await self.app.process_update(update)
        return Response(status_code=HTTPStatus.OK)

    async def send(self, item: OutboundItem) -> SendResult:
        """Send one reply, split at 4096 characters, with buttons as an inline keyboard on the last part."""
        chat_id = item.address.split(":", 1)[1]
        parts = split_text(item.reply.text or " ", MAX_TEXT)
        last_id: str | None = None
        try:
            for index, part in enumerate(parts):
                await self.pacer.acquire(chat_id)
                markup = keyboard(item.reply) if index == len(parts) - 1 else None
                sent = await self.app.bot.send_message(chat_id=chat_id, text=part, reply_markup=markup)
                last_id = str(sent.message_id)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            return SendResult.retry("telegram 429", retry_after=seconds)
        except Forbidden as exc:
            return SendResult.failed(f"telegram forbidden: {exc.message}", unreachable=True)
        except BadRequest as exc:
            return SendResult.failed(f"telegram bad request: {exc.message}")
        except (TimedOut, NetworkError) as exc:
            return SendResult.retry(f"telegram network: {type(exc).__name__}")
        return SendResult.sent(last_id)

    async def delivered(self, items: list[OutboundItem]) -> None:
        """Nothing to do after delivery on Telegram."""
