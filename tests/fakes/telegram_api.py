"""A fake Telegram Bot API server that python-telegram-bot talks to over real HTTP.

Point PTB at it with ``Application.builder().token(fake.token).base_url(f"{fake.base_url}/bot")``.
PTB posts ``application/x-www-form-urlencoded`` bodies in which strings are sent raw and every
other value (ints, bools, reply markup, lists) is JSON encoded; the fake also accepts JSON bodies,
query strings and multipart uploads, like the real server.

The server runs in a background thread (see ``tests.fakes.server.LiveServer``); the control API
(``push_*``, ``fail_next``, ``sent`` …) is plain Python and thread-safe, so tests call it directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.server import LOOPBACK, LiveServer

JSONDict = dict[str, Any]

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ALMERE = (52.3508, 5.2647)

# Update types delivered when allowed_updates is empty or never given (as the real API does).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

# Form values are strings; these keys carry JSON (PTB json-dumps every non-str value).
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "commands",
        "scope",
        "message_ids",
    }
)
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "offset",
        "limit",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "user_id",
    }
)
_FLOAT_PARAMS = frozenset({"timeout"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
    }
)

_ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@dataclass(frozen=True)
class ApiCall:
    """One request to the fake: method name as sent, decoded params, HTTP status."""

    method: str
    params: JSONDict
    status: int
    time: float  # time.monotonic() when the request was handled


@dataclass(frozen=True)
class SentMessage:
    """One successful sendMessage call."""

    chat_id: int | str
    text: str
    reply_markup: JSONDict | None
    message_id: int
    time: float  # time.monotonic()
    params: JSONDict = field(repr=False)

    @property
    def button_texts(self) -> list[str]:
        """Return the texts of all inline or reply keyboard buttons, row by row."""
        return [button.get("text", "") for row in _keyboard_rows(self.reply_markup) for button in row]

    @property
    def callback_data(self) -> list[str]:
        """Return the callback_data of all inline keyboard buttons that have one."""
        rows = _keyboard_rows(self.reply_markup)
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


@dataclass(frozen=True)
class AnsweredCallback:
    """One successful answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    time: float


@dataclass
class WebhookInfo:
    """The webhook registered with setWebhook."""

    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


class TelegramApiError(Exception):
    """An error answer of the fake Bot API (becomes ``{"ok": false, ...}``)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        """Store the HTTP status, description and optional retry_after."""
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Failure:
    method: str  # lower-case, or "*"
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | str | None


class _TokenBucket:
    """Token bucket: ``rate`` tokens per second, at most ``capacity`` saved up (the burst)."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()

    def wait_time(self, now: float) -> float:
        """Refill and return how long until one token is available (0 if one is)."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        """Consume one token."""
        self.tokens -= 1


def _keyboard_rows(markup: JSONDict | None) -> list[list[JSONDict]]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [[b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows]


def _dumps(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _chat_key(value: object) -> int | str:
    """Normalise a chat_id as Telegram does: an integer or an ``@username``."""
    if isinstance(value, bool):
        raise TelegramApiError(400, "Bad Request: chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        raise TelegramApiError(400, "Bad Request: chat_id is empty")
    try:
        return int(text)
    except ValueError:
        if text.startswith("@") and len(text) > 1:
            return text
        raise TelegramApiError(400, "Bad Request: chat not found") from None


def _coerce(key: str, value: str) -> Any:
    """Decode one form/query value the way the Bot API does."""
    if key in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise TelegramApiError(400, f"Bad Request: can't parse {key} JSON object") from None
    if key in _INT_PARAMS:
        try:
            return int(value)
        except ValueError:
            return value
    if key in _FLOAT_PARAMS:
        try:
            return float(value)
        except ValueError:
            return value
    if key in _BOOL_PARAMS:
        return value.strip().lower() in ("true", "1")
    return value


async def _read_params(request: Request) -> JSONDict:
    params: JSONDict = {}
    for key, value in request.query_params.multi_items():
        params[key] = _coerce(key, value)
    if request.method != "POST":
        return params
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise TelegramApiError(400, "Bad Request: can't parse JSON body") from None
            if isinstance(data, dict):
                params.update(data)
    elif content_type.startswith("multipart/form-data"):
        async with request.form() as form:
            for key, item in form.multi_items():
                if isinstance(item, str):
                    params[key] = _coerce(key, item)
                else:
                    params[key] = f"<file {item.filename}>"
    else:  # application/x-www-form-urlencoded or no body
        body = await request.body()
        if body:
            for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params[key] = _coerce(key, value)
    return params


def _update_type(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _validate_markup(markup: object) -> JSONDict | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise TelegramApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise TelegramApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise TelegramApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _markup_or_none(markup: JSONDict | None) -> JSONDict | None:
    """Treat an empty inline keyboard as no keyboard, like Telegram."""
    if markup is not None and "inline_keyboard" in markup and not any(markup["inline_keyboard"]):
        return None
    return markup


Handler = Callable[[JSONDict], Awaitable[Any]]


class FakeTelegramAPI(LiveServer):
    """Fake Bot API on 127.0.0.1: ``POST|GET /bot<token>/<method>``, with a Python control API."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        bot_username: str = "jongerenloket_test_bot",
        bot_first_name: str = "Jongerenloket",
        max_poll_timeout: float = 2.0,
        first_update_id: int = 100_000,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        """Create the fake for one bot token; call ``start()`` (or use ``with``) to serve it."""
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.max_poll_timeout = max_poll_timeout
        self._first_update_id = first_update_id
        self._lock = threading.RLock()
        self._update_event = asyncio.Event()  # replaced (and the old one set) on every push
        self._poll_generation = 0  # a newer getUpdates ends an older one with 409
        self._closing = False
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagetext": self._edit_message_text,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._ok_true,
            "deletemessage": self._ok_true,
            "setmycommands": self._ok_true,
            "deletemycommands": self._ok_true,
            "getmycommands": self._get_my_commands,
        }
        self._reset_state()
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/_fake/stats", self._stats, methods=["GET"]),
            ]
        )
        super().__init__(app, host=host, port=port)

    # ======================================================================== state and control

    def _reset_state(self) -> None:
        with self._lock:
            self._next_update_id = self._first_update_id
            self._pending: list[JSONDict] = []
            self._updates_by_id: dict[int, JSONDict] = {}
            self._allowed_updates: list[str] = []
            self._message_ids: dict[int | str, int] = {}
            self._messages: dict[tuple[int | str, int], JSONDict] = {}
            self._open_callbacks: dict[str, JSONDict] = {}
            self._callback_ids = itertools.count(4_000_000_000_000_000_001)
            self._calls: list[ApiCall] = []
            self._sent: list[SentMessage] = []
            self._answered: list[AnsweredCallback] = []
            self._unknown_methods: list[str] = []
            self._failures: list[_Failure] = []
            self._blocked: set[int | str] = set()
            self._global_rate: tuple[float, float] | None = None
            self._chat_rate: tuple[float, float] | None = None
            self._global_bucket: _TokenBucket | None = None
            self._chat_buckets: dict[int | str, _TokenBucket] = {}
            self._violations = 0
            self._violations_by_chat: dict[int | str, int] = {}
            self.webhook = WebhookInfo()

    def reset(self) -> None:
        """Forget all updates, records, injected failures, limits, blocks and the webhook."""
        self._reset_state()
        self._notify()

    @property
    def calls(self) -> list[ApiCall]:
        """Return a snapshot of every request received, in order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Return the calls of one method (case-insensitive)."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    @property
    def sent(self) -> list[SentMessage]:
        """Return a snapshot of the successful sendMessage calls, in order."""
        with self._lock:
            return list(self._sent)

    def messages_to(self, chat_id: int | str) -> list[SentMessage]:
        """Return the messages sent to one chat."""
        key = _chat_key(chat_id)
        return [m for m in self.sent if m.chat_id == key]

    @property
    def answered_callbacks(self) -> list[AnsweredCallback]:
        """Return a snapshot of the successful answerCallbackQuery calls."""
        with self._lock:
            return list(self._answered)

    @property
    def unknown_methods(self) -> list[str]:
        """Return the names of methods the fake does not implement that were called."""
        with self._lock:
            return list(self._unknown_methods)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Return the updates not yet confirmed by getUpdates (or delivered to the webhook)."""
        with self._lock:
            return list(self._pending)

    @property
    def violations(self) -> int:
        """Return how many sendMessage calls were refused by ``rate_limit``."""
        with self._lock:
            return self._violations

    @property
    def violations_by_chat(self) -> dict[int | str, int]:
        """Return the rate-limit refusals per chat."""
        with self._lock:
            return dict(self._violations_by_chat)

    def get_update(self, update_id: int) -> JSONDict:
        """Return an update pushed earlier."""
        with self._lock:
            return self._updates_by_id[update_id]

    def get_message(self, chat_id: int | str, message_id: int) -> JSONDict | None:
        """Return (a copy of) the current JSON of a message the bot sent or a user message pushed."""
        with self._lock:
            message = self._messages.get((_chat_key(chat_id), message_id))
            return None if message is None else dict(message)

    # -- failure injection ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 2,
        times: int = 1,
        *,
        description: str | None = None,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" for any) with an error.

        A 429 carries ``parameters.retry_after`` (PTB raises ``RetryAfter``); 403 becomes
        ``Forbidden``, 400 ``BadRequest``, 409 ``Conflict``, 401/404 ``InvalidToken`` and 5xx
        ``NetworkError``. ``chat_id`` limits the failure to calls for that chat.
        """
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            elif status == 403:
                description = "Forbidden: bot was blocked by the user"
            else:
                description = _ERROR_DESCRIPTIONS.get(status, f"Error {status}")
        with self._lock:
            self._failures.append(
                _Failure(
                    method=method.lower(),
                    status=status,
                    description=description,
                    retry_after=retry_after if status == 429 else None,
                    remaining=times,
                    chat_id=None if chat_id is None else _chat_key(chat_id),
                )
            )

    def block_chat(self, chat_id: int | str) -> None:
        """Make sendMessage to this chat answer 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(_chat_key(chat_id))

    def unblock_chat(self, chat_id: int | str) -> None:
        """Undo ``block_chat``."""
        with self._lock:
            self._blocked.discard(_chat_key(chat_id))

    def rate_limit(
        self,
        per_chat_per_sec: float | None = None,
        global_per_sec: float | None = None,
        *,
        per_chat_burst: float | None = None,
        global_burst: float | None = None,
    ) -> None:
        """Enforce sendMessage limits with token buckets; excess calls get 429 and count as violations.

        A bucket refills at the given rate and holds at most ``burst`` tokens (default: one
        second's worth, at least 1), so short bursts are tolerated like on the real API. Pass
        ``None`` for both rates to switch limiting off. Pace clients with a little margin: the
        fake measures arrival times, so jitter can push a perfectly paced client over the edge.
        """
        with self._lock:
            self._chat_rate = (
                None if per_chat_per_sec is None else (per_chat_per_sec, per_chat_burst or max(1.0, per_chat_per_sec))
            )
            self._global_rate = (
                None if global_per_sec is None else (global_per_sec, global_burst or max(1.0, global_per_sec))
            )
            self._global_bucket = _TokenBucket(*self._global_rate) if self._global_rate else None
            self._chat_buckets = {}

    # -- pushing updates (what users do) --------------------------------------------------------

    def push_update(self, update: JSONDict) -> int:
        """Queue a raw update (an ``update_id`` is assigned if missing) and return its update_id."""
        with self._lock:
            if "update_id" in update:
                update_id = int(update["update_id"])
            else:
                update_id = self._next_update_id
                update = {"update_id": update_id, **update}
            self._next_update_id = max(self._next_update_id, update_id + 1)
            self._pending.append(update)
            self._pending.sort(key=lambda u: int(u["update_id"]))
            self._updates_by_id[update_id] = update
        self._notify()
        return update_id

    def push_text(
        self,
        chat_id: int,
        text: str,
        user: int | JSONDict | None = None,
        first_name: str = "Jongere",
        *,
        username: str | None = None,
        language_code: str = "nl",
    ) -> int:
        """Queue a text message from a user (commands get a bot_command entity) and return its update_id."""
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        message = self._user_message(chat_id, user, first_name, username, language_code, content)
        return self.push_update({"message": message})

    def push_edited_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        user: int | JSONDict | None = None,
        first_name: str = "Jongere",
    ) -> int:
        """Queue an ``edited_message`` update for an earlier user message and return its update_id."""
        message = self._user_message(chat_id, user, first_name, None, "nl", {"text": text}, new_id=False)
        message["message_id"] = message_id
        original = self.get_message(chat_id, message_id)
        if original is not None:
            message["date"] = original["date"]
        message["edit_date"] = int(time.time())
        return self.push_update({"edited_message": message})

    def push_photo(self, chat_id: int, caption: str | None = None, user: int | JSONDict | None = None) -> int:
        """Queue a photo message (three sizes) and return its update_id."""
        sizes = [
            {**self._file(), "width": w, "height": h, "file_size": w * h // 10}
            for w, h in ((90, 67), (320, 240), (1280, 960))
        ]
        content: JSONDict = {"photo": sizes}
        if caption:
            content["caption"] = caption
        message = self._user_message(chat_id, user, "Jongere", None, "nl", content)
        return self.push_update({"message": message})

    def push_voice(self, chat_id: int, duration: int = 3, user: int | JSONDict | None = None) -> int:
        """Queue a voice message and return its update_id."""
        voice = {**self._file(), "duration": duration, "mime_type": "audio/ogg", "file_size": 4000 * duration}
        message = self._user_message(chat_id, user, "Jongere", None, "nl", {"voice": voice})
        return self.push_update({"message": message})

    def push_sticker(self, chat_id: int, emoji: str = "👍", user: int | JSONDict | None = None) -> int:
        """Queue a sticker message and return its update_id."""
        sticker = {
            **self._file(),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        message = self._user_message(chat_id, user, "Jongere", None, "nl", {"sticker": sticker})
        return self.push_update({"message": message})

    def push_location(
        self,
        chat_id: int,
        latitude: float = ALMERE[0],
        longitude: float = ALMERE[1],
        user: int | JSONDict | None = None,
    ) -> int:
        """Queue a location message (Almere by default) and return its update_id."""
        location = {"latitude": latitude, "longitude": longitude}
        message = self._user_message(chat_id, user, "Jongere", None, "nl", {"location": location})
        return self.push_update({"message": message})

    def push_callback(
        self,
        chat_id: int,
        data: str,
        message_id: int,
        user: int | JSONDict | None = None,
        first_name: str = "Jongere",
    ) -> int:
        """Queue a button press on the bot's message ``message_id`` and return its update_id."""
        with self._lock:
            query_id = str(next(self._callback_ids))
            stored = self._messages.get((_chat_key(chat_id), message_id))
            message = None if stored is None else dict(stored)
        if message is None:  # a message the fake never saw: build a plausible one
            message = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": self._chat(chat_id, first_name, None),
                "date": int(time.time()),
                "text": "…",
            }
        query = {
            "id": query_id,
            "from": self._user(chat_id, user, first_name, None, "nl"),
            "message": message,
            "chat_instance": str(abs(chat_id) * 2654435761 % 10**19),
            "data": data,
        }
        with self._lock:
            self._open_callbacks[query_id] = query
        return self.push_update({"callback_query": query})

    # -- waiting --------------------------------------------------------------------------------

    async def wait_for_sent(
        self, n: int, timeout: float = 5.0, *, chat_id: int | str | None = None
    ) -> list[SentMessage]:
        """Wait until at least ``n`` messages were sent (to ``chat_id`` if given) and return them."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent if chat_id is None else self.messages_to(chat_id)
            if len(sent) >= n:
                return sent
            if time.monotonic() >= deadline:
                raise TimeoutError(self._wait_failure(n, sent, timeout, chat_id))
            await asyncio.sleep(0.005)

    def wait_for_sent_sync(
        self, n: int, timeout: float = 5.0, *, chat_id: int | str | None = None
    ) -> list[SentMessage]:
        """Block until at least ``n`` messages were sent; never call this from the loop that sends them."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent if chat_id is None else self.messages_to(chat_id)
            if len(sent) >= n:
                return sent
            if time.monotonic() >= deadline:
                raise TimeoutError(self._wait_failure(n, sent, timeout, chat_id))
            time.sleep(0.005)

    async def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """Wait until ``method`` was called at least ``n`` times and return those calls."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls_to(method)
            if len(calls) >= n:
                return calls
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {n} {method} call(s) within {timeout} s, got {len(calls)}")
            await asyncio.sleep(0.005)

    @staticmethod
    def _wait_failure(n: int, sent: list[SentMessage], timeout: float, chat_id: int | str | None) -> str:
        where = "" if chat_id is None else f" to chat {chat_id}"
        texts = [m.text[:60] for m in sent]
        return f"expected {n} sent message(s){where} within {timeout} s, got {len(sent)}: {texts}"

    # -- webhooks -------------------------------------------------------------------------------

    async def deliver_webhook(
        self,
        url: str,
        update: JSONDict | int,
        secret_token: str | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> httpx.Response:
        """POST an update (dict or update_id of a pushed one) to our webhook as Telegram does."""
        payload = self.get_update(update) if isinstance(update, int) else update
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        if client is not None:
            return await client.post(url, content=_dumps(payload), headers=headers)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as own_client:
            return await own_client.post(url, content=_dumps(payload), headers=headers)

    def deliver_webhook_sync(
        self, url: str, update: JSONDict | int, secret_token: str | None = None, *, timeout: float = 10.0
    ) -> httpx.Response:
        """Blocking variant of ``deliver_webhook``."""
        payload = self.get_update(update) if isinstance(update, int) else update
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            return client.post(url, content=_dumps(payload), headers=headers)

    async def deliver_pending_webhooks(self, *, client: httpx.AsyncClient | None = None) -> list[httpx.Response]:
        """Deliver the pending updates to the registered webhook; keep those not answered 2xx."""
        with self._lock:
            webhook = self.webhook
            pending = list(self._pending)
        if not webhook.url:
            raise RuntimeError("no webhook is set (call setWebhook through the bot first)")
        allowed = set(webhook.allowed_updates or ()) or DEFAULT_UPDATE_TYPES
        responses = []
        for update in pending:
            if _update_type(update) not in allowed:
                self._forget(update)
                continue
            response = await self.deliver_webhook(webhook.url, update, webhook.secret_token, client=client)
            responses.append(response)
            if response.is_success:
                self._forget(update)
            else:
                with self._lock:
                    webhook.last_error_date = int(time.time())
                    webhook.last_error_message = f"Wrong response from the webhook: {response.status_code}"
        return responses

    # ============================================================================ HTTP handling

    async def _endpoint(self, request: Request) -> Response:
        method: str = request.path_params["method"]
        params: JSONDict = {}
        try:
            if request.path_params["token"] != self.token:
                raise TelegramApiError(401, "Unauthorized")
            params = await _read_params(request)
            self._maybe_fail(method, params)
            handler = self._handlers.get(method.lower())
            if handler is None:
                with self._lock:
                    self._unknown_methods.append(method)
                raise TelegramApiError(404, "Not Found: method not found")
            result = await handler(params)
            payload: JSONDict = {"ok": True, "result": result}
            status = 200
        except TelegramApiError as exc:
            status = exc.status
            payload = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.retry_after is not None:
                payload["parameters"] = {"retry_after": exc.retry_after}
            if status == 409 and await request.is_disconnected():
                status = 499  # an abandoned long poll (e.g. PTB cancelled it on stop): nobody saw it
        with self._lock:
            self._calls.append(ApiCall(method, params, status, time.monotonic()))
        return Response(_dumps(payload), status_code=status, media_type="application/json")

    async def _stats(self, request: Request) -> Response:
        """Report counters, for a fake running in another process (see ``main``)."""
        with self._lock:
            stats = {
                "sent": len(self._sent),
                "calls": len(self._calls),
                "violations": self._violations,
                "pending_updates": len(self._pending),
            }
        return Response(_dumps(stats), media_type="application/json")

    def _maybe_fail(self, method: str, params: JSONDict) -> None:
        name = method.lower()
        with self._lock:
            for failure in self._failures:
                if failure.remaining <= 0 or failure.method not in (name, "*"):
                    continue
                if failure.chat_id is not None:
                    try:
                        if _chat_key(params.get("chat_id", "")) != failure.chat_id:
                            continue
                    except TelegramApiError:
                        continue
                failure.remaining -= 1
                self._failures = [f for f in self._failures if f.remaining > 0]
                raise TelegramApiError(failure.status, failure.description, failure.retry_after)

    # -- methods --------------------------------------------------------------------------------

    async def _ok_true(self, params: JSONDict) -> bool:
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return []

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_poll_timeout)
        with self._lock:
            if self.webhook.url:
                raise TelegramApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if "allowed_updates" in params and params["allowed_updates"] is not None:
                self._allowed_updates = list(params["allowed_updates"])
            self._poll_generation += 1
            generation = self._poll_generation
        self._notify()  # wake a poll this one supersedes
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if generation != self._poll_generation:
                    raise TelegramApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                updates = self._take_updates(offset, limit)
                remaining = deadline - time.monotonic()
                if updates or remaining <= 0 or self._closing:
                    return updates
                event = self._update_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _take_updates(self, offset: int, limit: int) -> list[JSONDict]:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        allowed = set(self._allowed_updates) or DEFAULT_UPDATE_TYPES
        self._pending = [u for u in self._pending if _update_type(u) in allowed]
        return self._pending[:limit]

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TelegramApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN_RE.match(str(secret)):
            raise TelegramApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        with self._lock:
            if params.get("drop_pending_updates"):
                self._pending.clear()
            self.webhook = WebhookInfo(
                url=url,
                secret_token=None if secret is None else str(secret),
                allowed_updates=None if allowed is None else list(allowed),
                max_connections=int(params.get("max_connections") or 40),
            )
            self._poll_generation += 1  # a running getUpdates ends with 409
        self._notify()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        with self._lock:
            if params.get("drop_pending_updates"):
                self._pending.clear()
            self.webhook = WebhookInfo()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        with self._lock:
            webhook = self.webhook
            info: JSONDict = {
                "url": webhook.url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if webhook.url:
                info["max_connections"] = webhook.max_connections
                info["ip_address"] = LOOPBACK
                if webhook.allowed_updates is not None:
                    info["allowed_updates"] = webhook.allowed_updates
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = _chat_key(params.get("chat_id", ""))
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise TelegramApiError(400, "Bad Request: message is too long")
        markup = _validate_markup(params.get("reply_markup"))
        now = time.monotonic()
        with self._lock:
            if chat_id in self._blocked:
                raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
            self._check_rate(chat_id, now)
            message_id = self._next_message_id(chat_id)
            message: JSONDict = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": self._chat(chat_id, "Jongere", None),
                "date": int(time.time()),
                "text": text,
            }
            if params.get("entities"):
                message["entities"] = params["entities"]
            markup = _markup_or_none(markup)
            if markup is not None and "inline_keyboard" in markup:
                message["reply_markup"] = markup  # only inline keyboards are echoed by Telegram
            self._messages[(chat_id, message_id)] = message
            self._sent.append(SentMessage(chat_id, text, markup, message_id, now, params))
        return message

    def _check_rate(self, chat_id: int | str, now: float) -> None:
        waits = []
        chat_bucket = None
        if self._chat_rate is not None:
            chat_bucket = self._chat_buckets.get(chat_id)
            if chat_bucket is None:
                chat_bucket = self._chat_buckets[chat_id] = _TokenBucket(*self._chat_rate)
            waits.append(chat_bucket.wait_time(now))
        if self._global_bucket is not None:
            waits.append(self._global_bucket.wait_time(now))
        wait = max(waits, default=0.0)
        if wait > 0:
            self._violations += 1
            self._violations_by_chat[chat_id] = self._violations_by_chat.get(chat_id, 0) + 1
            retry_after = max(1, math.ceil(wait))
            raise TelegramApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if chat_bucket is not None:
            chat_bucket.take()
        if self._global_bucket is not None:
            self._global_bucket.take()

    def _find_bot_message(self, params: JSONDict) -> JSONDict | None:
        """Return the bot message addressed by chat_id+message_id, or None for inline messages."""
        if params.get("inline_message_id"):
            return None
        if not params.get("message_id"):
            raise TelegramApiError(400, "Bad Request: message identifier is not specified")
        chat_id = _chat_key(params.get("chat_id", ""))
        if chat_id in self._blocked:
            raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
        message = self._messages.get((chat_id, int(params["message_id"])))
        if message is None:
            raise TelegramApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise TelegramApiError(400, "Bad Request: message can't be edited")
        return message

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        markup = _markup_or_none(_validate_markup(params.get("reply_markup")))
        with self._lock:
            message = self._find_bot_message(params)
            if message is None:
                return True
            if message.get("reply_markup") == markup:
                raise TelegramApiError(400, NOT_MODIFIED)
            if markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = markup
            message["edit_date"] = int(time.time())
            return dict(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise TelegramApiError(400, "Bad Request: message is too long")
        markup = _markup_or_none(_validate_markup(params.get("reply_markup")))
        with self._lock:
            message = self._find_bot_message(params)
            if message is None:
                return True
            if message.get("text") == text and message.get("reply_markup") == markup:
                raise TelegramApiError(400, NOT_MODIFIED)
            message["text"] = text
            if markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = markup
            message["edit_date"] = int(time.time())
            return dict(message)

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if self._open_callbacks.pop(query_id, None) is None:
                raise TelegramApiError(400, QUERY_TOO_OLD)
            self._answered.append(
                AnsweredCallback(
                    callback_query_id=query_id,
                    text=params.get("text"),
                    show_alert=bool(params.get("show_alert", False)),
                    url=params.get("url"),
                    time=time.monotonic(),
                )
            )
        return True

    # ================================================================================ helpers

    def _forget(self, update: JSONDict) -> None:
        with self._lock:
            self._pending = [u for u in self._pending if u["update_id"] != update["update_id"]]

    def _notify(self) -> None:
        """Wake every waiting getUpdates (thread-safe)."""
        with self._lock:
            event = self._update_event
            self._update_event = asyncio.Event()
        self.call_soon(event.set)

    def _on_starting(self) -> None:
        with self._lock:
            self._update_event = asyncio.Event()
            self._closing = False

    def _on_stopping(self) -> None:
        with self._lock:
            self._closing = True
        self._notify()

    def _next_message_id(self, chat_id: int | str) -> int:
        with self._lock:
            value = self._message_ids.get(chat_id, 0) + 1
            self._message_ids[chat_id] = value
            return value

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @staticmethod
    def _chat(chat_id: int | str, first_name: str, username: str | None) -> JSONDict:
        if isinstance(chat_id, str):
            return {"id": -1001000000000, "type": "channel", "title": chat_id, "username": chat_id[1:]}
        if chat_id > 0:
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": first_name}
            if username:
                chat["username"] = username
            return chat
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "type": "supergroup", "title": "Groep"}
        return {"id": chat_id, "type": "group", "title": "Groep"}

    @staticmethod
    def _user(
        chat_id: int,
        user: int | JSONDict | None,
        first_name: str,
        username: str | None,
        language_code: str,
    ) -> JSONDict:
        if isinstance(user, dict):
            return user
        user_id = user if user is not None else (chat_id if chat_id > 0 else 424242)
        data: JSONDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if username:
            data["username"] = username
        return data

    def _user_message(
        self,
        chat_id: int,
        user: int | JSONDict | None,
        first_name: str,
        username: str | None,
        language_code: str,
        content: JSONDict,
        *,
        new_id: bool = True,
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id) if new_id else 0,
            "from": self._user(chat_id, user, first_name, username, language_code),
            "chat": self._chat(chat_id, first_name, username),
            "date": int(time.time()),
            **content,
        }
        if new_id:
            with self._lock:
                self._messages[(chat_id, message["message_id"])] = message
        return message

    @staticmethod
    def _file() -> JSONDict:
        unique = uuid.uuid4().hex
        return {"file_id": f"AgACAgQAAxkBAAI{unique}", "file_unique_id": f"AQAD{unique[:12]}"}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def texts(messages: Iterable[SentMessage]) -> list[str]:
    """Return the texts of sent messages (handy in assertions)."""
    return [m.text for m in messages]


def main(argv: list[str] | None = None) -> None:
    """Serve the fake until interrupted: ``python -m tests.fakes.telegram_api --port 8081``.

    For benchmarks that want the fake in its own process (in one process the client and the
    server thread share the GIL). Counters are at ``GET /_fake/stats``.
    """
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="123:ABC")
    parser.add_argument("--per-chat-per-sec", type=float, default=None)
    parser.add_argument("--global-per-sec", type=float, default=None)
    args = parser.parse_args(argv)
    fake = FakeTelegramAPI(args.token, port=args.port)
    fake.rate_limit(args.per_chat_per_sec, args.global_per_sec)
    fake.start()
    print(fake.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
