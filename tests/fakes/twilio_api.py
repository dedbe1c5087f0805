"""A fake Twilio REST API (Messages) and helpers to build signed Twilio webhooks.

Pointing twilio 9 at another host
---------------------------------
twilio-python builds every URL from a hard-coded product host (the api host for
``client.messages``, ``https://content.twilio.com`` for templates, …); ``edge``/``region`` only
rewrite that host within ``*.twilio.com``. The supported extension point is the HTTP client
(``Client(..., http_client=...)``, documented in twilio-python's "custom HTTP client" guide):
``BaseUrlAsyncHttpClient`` below subclasses ``AsyncTwilioHttpClient`` and swaps scheme, host and
port of every request for ``TWILIO_API_BASE_URL`` right before it is sent, after edge/region
handling, so no REST call of any product can reach Twilio. ``client.api.base_url = ...`` also works
(the Domain reads it on every request) but only moves the ``api`` domain.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.server import LOOPBACK, LiveServer

JSONDict = dict[str, Any]

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "fake_twilio_auth_token_0123456789"
DEFAULT_WHATSAPP_SENDER = "whatsapp:+14155238886"
API_VERSION = "2010-04-01"
BODY_LIMIT = 1600
OUTSIDE_WINDOW = 63016
FINAL_STATUSES = frozenset({"delivered", "read", "failed", "undelivered", "canceled"})
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def new_sid(prefix: str) -> str:
    """Return a Twilio-style SID: a two-letter prefix and 32 hex digits."""
    return prefix + secrets.token_hex(16)


# ================================================================ twilio client → another host


class BaseUrlAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Async Twilio HTTP client that sends every request to ``base_url`` instead of ``*.twilio.com``."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        """Remember the target origin (and optional path prefix); create inside a running loop."""
        super().__init__(**kwargs)
        target = urlsplit(base_url.rstrip("/"))
        if target.scheme not in ("http", "https") or not target.netloc:
            raise ValueError(f"not an absolute http(s) URL: {base_url!r}")
        self._scheme, self._netloc, self._prefix = target.scheme, target.netloc, target.path

    def rebase(self, url: str) -> str:
        """Return ``url`` with scheme and host replaced by the target base URL."""
        parts = urlsplit(url)
        return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """Send the request to the rebased URL."""
        return await super().request(
            method,
            self.rebase(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


# ========================================================================= webhook builders


def signed_form(url: str, params: dict[str, str], auth_token: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return (headers, params) for a form POST to ``url`` signed as Twilio signs webhooks.

    ``url`` must be the public URL Twilio would call (scheme, host, path and query exactly).
    """
    signature = RequestValidator(auth_token).compute_signature(url, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        "User-Agent": "TwilioProxy/1.1",
    }
    return headers, dict(params)


def inbound_whatsapp_params(
    from_: str = "whatsapp:+31612345678",
    body: str = "hoi",
    message_sid: str | None = None,
    to: str = DEFAULT_WHATSAPP_SENDER,
    profile_name: str = "Jongere",
    num_media: int = 0,
    media: list[tuple[str, str]] | None = None,
    *,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    button_text: str | None = None,
    button_payload: str | None = None,
    original_message_sid: str | None = None,
) -> dict[str, str]:
    """Return the form params Twilio posts for an inbound WhatsApp message.

    ``media`` is a list of (url, content_type); without it ``num_media`` placeholder images are
    listed. ``button_text``/``button_payload`` describe a quick-reply tap on our message
    ``original_message_sid``.
    """
    has_media = bool(media) if media is not None else num_media > 0
    sid = message_sid or new_sid("MM" if has_media else "SM")
    if media is None:
        base = f"https://media.example.invalid/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media"
        media = [(f"{base}/{new_sid('ME')}", "image/jpeg") for _ in range(num_media)]
    message_type = "button" if button_payload is not None else ("image" if media else "text")
    params = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ProfileName": profile_name,
        "MessageType": message_type,
        "SmsSid": sid,
        "WaId": from_.removeprefix("whatsapp:").lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    if button_payload is not None:
        params["ButtonPayload"] = button_payload
        params["ButtonText"] = button_text if button_text is not None else body
    if original_message_sid is not None:
        params["OriginalRepliedMessageSid"] = original_message_sid
        params["OriginalRepliedMessageSender"] = to.removeprefix("whatsapp:")
    return params


def status_callback_params(
    message_sid: str,
    status: str,
    error_code: int | str | None = None,
    *,
    to: str = "whatsapp:+31612345678",
    from_: str = DEFAULT_WHATSAPP_SENDER,
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> dict[str, str]:
    """Return the form params of a Twilio message status callback (sent, delivered, read, failed …)."""
    params = {
        "ChannelPrefix": "whatsapp" if to.startswith("whatsapp:") else "sms",
        "ApiVersion": API_VERSION,
        "MessageStatus": status,
        "SmsSid": message_sid,
        "SmsStatus": status,
        "ChannelToAddress": to.removeprefix("whatsapp:"),
        "To": to,
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


async def post_signed_form(
    url: str,
    params: dict[str, str],
    auth_token: str,
    *,
    sign_url: str | None = None,
    headers: dict[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """POST a signed Twilio webhook to ``url``; sign ``sign_url`` instead when behind a proxy."""
    signed_headers, body = signed_form(sign_url or url, params, auth_token)
    signed_headers.update(headers or {})
    if client is not None:
        return await client.post(url, data=body, headers=signed_headers)
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as own_client:
        return await own_client.post(url, data=body, headers=signed_headers)


# ====================================================================================== fake


@dataclass
class TwilioMessage:
    """One message created through the fake REST API."""

    sid: str
    to: str
    from_: str | None
    body: str
    content_sid: str | None
    content_variables: JSONDict | None
    status_callback: str | None
    messaging_service_sid: str | None
    media_urls: list[str]
    params: dict[str, list[str]] = field(repr=False)
    time: float  # time.monotonic()
    status: str = "queued"
    error_code: int | None = None
    date_created: str = ""
    callbacks_sent: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TwilioCall:
    """One request to the fake REST API."""

    method: str
    path: str
    params: dict[str, list[str]]
    status: int
    authenticated: bool
    time: float


@dataclass
class _Failure:
    status: int
    code: int
    message: str
    remaining: int
    to: str | None


class TwilioApiError(Exception):
    """An error answer of the fake Twilio API."""

    def __init__(self, status: int, code: int, message: str) -> None:
        """Store HTTP status, Twilio error code and message."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error_body(status: int, code: int, message: str) -> JSONDict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _json(payload: object, status: int) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


def _rfc2822_now() -> str:
    return formatdate(time.time(), usegmt=True).replace("GMT", "+0000")


class FakeTwilioAPI(LiveServer):
    """Fake Twilio REST API (Messages resource) on 127.0.0.1 with a Python control API."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        """Create the fake for one account; call ``start()`` (or use ``with``) to serve it."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.RLock()
        self._reset_state()
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"
        app = Starlette(
            routes=[
                Route(f"{base}/Messages.json", self._messages_endpoint, methods=["GET", "POST"]),
                Route(f"{base}/Messages/{{message_sid}}.json", self._message_endpoint, methods=["GET"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )
        super().__init__(app, host=host, port=port)

    def _reset_state(self) -> None:
        with self._lock:
            self._messages: dict[str, TwilioMessage] = {}
            self._sent: list[TwilioMessage] = []
            self._calls: list[TwilioCall] = []
            self._failures: list[_Failure] = []
            self._closed_windows: set[str] = set()
            self._counter = itertools.count(1)

    def reset(self) -> None:
        """Forget messages, calls, injected failures and closed windows."""
        self._reset_state()

    # -- control --------------------------------------------------------------------------------

    def client(self, **http_client_kwargs: Any) -> Client:
        """Return a twilio ``Client`` for this fake's account that sends every call to the fake.

        Create it inside a running event loop (aiohttp requires one) and close it with
        ``await client.http_client.close()``.
        """
        http_client = BaseUrlAsyncHttpClient(self.base_url, **http_client_kwargs)
        return Client(self.account_sid, self.auth_token, http_client=http_client)

    @property
    def sent(self) -> list[TwilioMessage]:
        """Return a snapshot of the messages created (201), in order."""
        with self._lock:
            return list(self._sent)

    @property
    def calls(self) -> list[TwilioCall]:
        """Return a snapshot of all requests received."""
        with self._lock:
            return list(self._calls)

    def messages_to(self, to: str) -> list[TwilioMessage]:
        """Return the messages created for one recipient (e.g. ``whatsapp:+316…``)."""
        return [m for m in self.sent if m.to == to]

    def get_message(self, sid: str) -> TwilioMessage:
        """Return a created message by SID."""
        with self._lock:
            return self._messages[sid]

    def fail_next(
        self,
        status: int = 429,
        code: int = 20429,
        message: str | None = None,
        times: int = 1,
        *,
        to: str | None = None,
    ) -> None:
        """Answer the next ``times`` message creations (to ``to`` if given) with a Twilio error.

        E.g. ``fail_next(429, 20429)``, ``fail_next(500, 20500)``, ``fail_next(400, 21211)``.
        twilio raises ``TwilioRestException`` with ``.status`` and ``.code``. Note that WhatsApp's
        63016 (outside the 24 h window) really arrives later, as a failed status callback: use
        ``close_window`` to simulate that; ``fail_next(400, 63016)`` is the synchronous shortcut.
        """
        default = {
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
            OUTSIDE_WINDOW: "Failed to send freeform message because you are outside the allowed window. "
            "If you are using WhatsApp, please use a Message Template.",
        }
        text = message or default.get(code) or default.get(status) or f"Error {code}"
        with self._lock:
            self._failures.append(_Failure(status, code, text, times, to))

    def close_window(self, to: str) -> None:
        """Treat ``to`` as outside the 24 h window: free-form messages are accepted, then fail with 63016."""
        with self._lock:
            self._closed_windows.add(to)

    def open_window(self, to: str) -> None:
        """Undo ``close_window`` (the user wrote to us)."""
        with self._lock:
            self._closed_windows.discard(to)

    async def wait_for_sent(self, n: int, timeout: float = 5.0, *, to: str | None = None) -> list[TwilioMessage]:
        """Wait until at least ``n`` messages were created (for ``to`` if given) and return them."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent if to is None else self.messages_to(to)
            if len(sent) >= n:
                return sent
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"expected {n} Twilio message(s) within {timeout} s, got {len(sent)}: {[m.body[:60] for m in sent]}"
                )
            await asyncio.sleep(0.005)

    def wait_for_sent_sync(self, n: int, timeout: float = 5.0, *, to: str | None = None) -> list[TwilioMessage]:
        """Block until at least ``n`` messages were created; never call this from the sending loop."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent if to is None else self.messages_to(to)
            if len(sent) >= n:
                return sent
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {n} Twilio message(s) within {timeout} s, got {len(sent)}")
            time.sleep(0.005)

    async def send_status_callback(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        *,
        url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """POST a signed status callback for message ``sid`` to its StatusCallback (or ``url``)."""
        message = self.get_message(sid)
        target = url or message.status_callback
        if not target:
            raise ValueError(f"message {sid} has no StatusCallback and no url was given")
        params = status_callback_params(
            sid, status, error_code, to=message.to, from_=message.from_ or "", account_sid=self.account_sid
        )
        response = await post_signed_form(target, params, self.auth_token, client=client)
        with self._lock:
            message.status = status
            message.error_code = error_code
            message.callbacks_sent.append(status)
        return response

    async def flush_status_callbacks(self, *, client: httpx.AsyncClient | None = None) -> list[httpx.Response]:
        """Play out every open message with a StatusCallback: sent+delivered, or failed (63016)."""
        responses: list[httpx.Response] = []
        for message in self.sent:
            if not message.status_callback or message.status in FINAL_STATUSES:
                continue
            if message.error_code == OUTSIDE_WINDOW:
                response = await self.send_status_callback(message.sid, "failed", OUTSIDE_WINDOW, client=client)
                responses.append(response)
                continue
            for status in ("sent", "delivered"):
                responses.append(await self.send_status_callback(message.sid, status, client=client))
        return responses

    # -- HTTP -----------------------------------------------------------------------------------

    def _authenticated(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token)

    def _record(self, request: Request, params: dict[str, list[str]], status: int, auth: bool) -> None:
        with self._lock:
            self._calls.append(TwilioCall(request.method, request.url.path, params, status, auth, time.monotonic()))

    async def _read_form(self, request: Request) -> dict[str, list[str]]:
        params: dict[str, list[str]] = {}
        pairs = list(request.query_params.multi_items())
        if request.method == "POST":
            body = await request.body()
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        for key, value in pairs:
            params.setdefault(key, []).append(value)
        return params

    async def _guarded(self, request: Request) -> tuple[dict[str, list[str]], bool, Response | None]:
        params = await self._read_form(request)
        auth = self._authenticated(request)
        if not auth:
            body = _error_body(401, 20003, "Authenticate")
            body["detail"] = "Your AccountSid or AuthToken was incorrect."
            return params, auth, _json(body, 401)
        if request.path_params.get("account_sid") != self.account_sid:
            return params, auth, _json(_error_body(404, 20404, "The requested resource was not found"), 404)
        return params, auth, None

    async def _messages_endpoint(self, request: Request) -> Response:
        params, auth, error = await self._guarded(request)
        if error is None:
            if request.method == "POST":
                try:
                    error = _json(self._create(params), 201)
                except TwilioApiError as exc:
                    error = _json(_error_body(exc.status, exc.code, exc.message), exc.status)
            else:
                error = _json(self._list_page(request), 200)
        self._record(request, params, error.status_code, auth)
        return error

    async def _message_endpoint(self, request: Request) -> Response:
        params, auth, response = await self._guarded(request)
        if response is None:
            sid = request.path_params["message_sid"]
            with self._lock:
                message = self._messages.get(sid)
            if message is None:
                body = _error_body(404, 20404, f"The requested resource {request.url.path} was not found")
                response = _json(body, 404)
            else:
                response = _json(self._resource(message), 200)
        self._record(request, params, response.status_code, auth)
        return response

    async def _not_found(self, request: Request) -> Response:
        params = await self._read_form(request)
        body = _error_body(404, 20404, f"The requested resource {request.url.path} was not found")
        response = _json(body, 404)
        self._record(request, params, 404, self._authenticated(request))
        return response

    def _create(self, params: dict[str, list[str]]) -> JSONDict:
        def one(key: str) -> str | None:
            values = params.get(key)
            return values[-1] if values else None

        to, from_, body = one("To"), one("From"), one("Body")
        service, content_sid = one("MessagingServiceSid"), one("ContentSid")
        media_urls = params.get("MediaUrl", [])
        self._maybe_fail(to)
        if not to:
            raise TwilioApiError(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service:
            raise TwilioApiError(400, 21603, "A 'From' phone number is required.")
        if not body and not media_urls and not content_sid:
            raise TwilioApiError(400, 21602, "Message body is required.")
        if not _E164.match(to.removeprefix("whatsapp:")):
            raise TwilioApiError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if from_ and from_.startswith("whatsapp:") != to.startswith("whatsapp:"):
            raise TwilioApiError(400, 21910, "Invalid From and To pair. From and To should be of the same channel")
        if body and len(body) > BODY_LIMIT:
            raise TwilioApiError(400, 21617, f"The concatenated message body exceeds the {BODY_LIMIT} character limit.")
        variables: JSONDict | None = None
        raw_variables = one("ContentVariables")
        if raw_variables is not None:
            try:
                variables = json.loads(raw_variables)
            except ValueError:
                raise TwilioApiError(400, 21656, "The ContentVariables Parameter is invalid.") from None
            if not isinstance(variables, dict):
                raise TwilioApiError(400, 21656, "The ContentVariables Parameter is invalid.")
        message = TwilioMessage(
            sid=new_sid("MM" if media_urls else "SM"),
            to=to,
            from_=from_,
            body=body or "",
            content_sid=content_sid,
            content_variables=variables,
            status_callback=one("StatusCallback"),
            messaging_service_sid=service,
            media_urls=media_urls,
            params=params,
            time=time.monotonic(),
            status="queued" if from_ else "accepted",
            date_created=_rfc2822_now(),
        )
        with self._lock:
            if to in self._closed_windows and content_sid is None:
                message.error_code = OUTSIDE_WINDOW  # reported later by status callback, like Twilio
            self._messages[message.sid] = message
            self._sent.append(message)
        resource = self._resource(message)
        resource["error_code"] = None  # the create answer never shows the later failure
        return resource

    def _maybe_fail(self, to: str | None) -> None:
        with self._lock:
            for failure in self._failures:
                if failure.remaining > 0 and failure.to in (None, to):
                    failure.remaining -= 1
                    self._failures = [f for f in self._failures if f.remaining > 0]
                    raise TwilioApiError(failure.status, failure.code, failure.message)

    def _resource(self, message: TwilioMessage) -> JSONDict:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": message.date_created,
            "date_sent": None,
            "date_updated": message.date_created,
            "direction": "outbound-api",
            "error_code": message.error_code,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": str(len(message.media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": None,
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }

    def _list_page(self, request: Request) -> JSONDict:
        uri = request.url.path
        messages = [self._resource(m) for m in reversed(self.sent)][:50]
        return {
            "messages": messages,
            "end": max(len(messages) - 1, 0),
            "first_page_uri": f"{uri}?PageSize=50&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{uri}?PageSize=50&Page=0",
        }
