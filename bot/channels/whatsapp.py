"""WhatsApp through Twilio 9: signed webhooks in, the async REST client out.

The adapter translates: form params → IncomingMessage, Reply → a Twilio message (free text with
numbered options inside the 24-hour window, an approved template outside it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import OutboundItem, SendResult, split_text
from bot.ratelimit import ChannelPacer
from data import records
from data.db import Database
from data.models import utcnow
from flows.messages import IncomingMessage, render_numbered

log = logging.getLogger(__name__)

MAX_BODY = 1600
WINDOW = timedelta(hours=24)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
PERMANENT_CODES = {21211, 21408, 21610, 21614, 63003, 63016, 63024}
Handle = Callable[[IncomingMessage], Awaitable[Any]]


class RebasedAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's async HTTP client, sending every REST call to TWILIO_API_BASE_URL instead."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = urlsplit(base_url.rstrip("/"))
        self._origin = (target.scheme, target.netloc, target.path)

    async def request(self, method: str, url: str, params: Any = None, data: Any = None, headers: Any = None,
                      auth: Any = None, timeout: float | None = None,
                      allow_redirects: bool = False) -> TwilioResponse:
        """Send the request to the same path on the configured base URL."""
        parts = urlsplit(url)
        scheme, netloc, prefix = self._origin
        rebased = urlunsplit((scheme, netloc, prefix + parts.path, parts.query, ""))
        return await super().request(method, rebased, params=params, data=data, headers=headers, auth=auth,
                                     timeout=timeout, allow_redirects=allow_redirects)


def inside_window(item: OutboundItem) -> bool:
    """Tell whether the jongere wrote within the last 24 hours, so free text may be sent."""
    return item.last_inbound_at is not None and utcnow() - item.last_inbound_at < WINDOW


class WhatsAppChannel:
    """One Twilio WhatsApp sender: receives signed webhooks, sends through the REST API."""

    name = "whatsapp"

    def __init__(self, *, account_sid: str, auth_token: str, from_: str, handle: Handle, db: Database,
                 api_base_url: str = "https://api.twilio.com", public_base_url: str = "", rate: float = 10.0,
                 templates: dict[str, str] | None = None, quick_reply_sids: dict[str, str] | None = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_ = from_ if from_.startswith("whatsapp:") else f"whatsapp:{from_}"
        self.handle = handle
        self.db = db
        self.api_base_url = api_base_url
        self.public_base_url = public_base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.pacer = ChannelPacer(rate)
        self.templates = templates or {}
        self.quick_reply_sids = quick_reply_sids or {}
        self._client: Client | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the async REST client (it needs a running event loop)."""
        self._client = Client(self.account_sid, self.auth_token,
                              http_client=RebasedAsyncHttpClient(self.api_base_url))

    async def stop(self) -> None:
        """Close the REST client's connections."""
        if self._client is not None:
            await self._client.http_client.close()
            self._client = None

    def routes(self) -> list[Route]:
        """Return the inbound and status webhook routes."""
        return [Route("/webhooks/twilio/whatsapp", self.receive_message, methods=["POST"]),
                Route("/webhooks/twilio/status", self.receive_status, methods=["POST"])]

    # -- inbound ---------------------------------------------------------------------------------

    async def _verified_form(self, request: Request) -> dict[str, str] | None:
        """Return the form params when the Twilio signature is valid for our public URL, else None."""
        signature = request.headers.get("x-twilio-signature", "")
        form = await request.form()
        params = {k: str(v) for k, v in form.multi_items()}
        url = f"{self.public_base_url}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        if not signature or not self.public_base_url or not self.validator.validate(url, params, signature):
            log.warning("twilio webhook with missing or bad signature refused")
            return None
        return params

    async def receive_message(self, request: Request) -> Response:
        """Store an inbound WhatsApp message and answer an empty TwiML at once; 403 when unsigned."""
        params = await self._verified_form(request)
        if params is None:
            return Response(status_code=403)
        incoming = translate(params)
        if incoming is not None:
            await self.handle(incoming)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def receive_status(self, request: Request) -> Response:
        """Record a delivery status (sent, delivered, read, failed, undelivered) on the outbox row."""
        params = await self._verified_form(request)
        if params is None:
            return Response(status_code=403)
        for _ in range(20):  # the callback can beat the sender's commit of the message SID by a moment
            async with self.db.transaction() as session:
                found = await records.record_delivery_status(session, params.get("MessageSid", ""),
                                                             params.get("MessageStatus", ""), params.get("ErrorCode"))
            if found is not None:
                break
            await asyncio.sleep(0.1)
        else:
            log.warning("status callback for an unknown message", extra={"status": params.get("MessageStatus")})
        return Response(EMPTY_TWIML, media_type="text/xml")

    # -- outbound --------------------------------------------------------------------------------

    async def send(self, item: OutboundItem) -> SendResult:
        """Send a reply as free text inside the 24-hour window, or as its approved template outside it."""
        if self._client is None:
            await self.start()
        assert self._client is not None
        if item.kind != "reply" and item.opted_out:
            return SendResult.failed("jongere afgemeld (stop): no proactive messages", tell_coach=False)
        callback = f"{self.public_base_url}/webhooks/twilio/status" if self.public_base_url else None
        requests: list[dict[str, Any]] = []
        if inside_window(item):
            reply = item.reply
            quick = self.quick_reply_sids.get(str(len(reply.buttons))) if reply.buttons else None
            if quick:
                variables = {"1": reply.text}
                for i, button in enumerate(reply.buttons):
                    variables[str(2 + 2 * i)], variables[str(3 + 2 * i)] = button.title, button.payload
                requests.append({"content_sid": quick, "content_variables": json.dumps(variables)})
            else:
                text = render_numbered(reply)
                requests += [{"body": part} for part in split_text(text, MAX_BODY)]
        else:
            template = self.templates.get(item.kind)
            if not template:
                return SendResult.failed("buiten 24-uursvenster van WhatsApp en geen template voor "
                                         f"'{item.kind}': de jongere is nu niet bereikbaar via WhatsApp")
            requests.append({"content_sid": template, "content_variables": json.dumps({"1": item.reply.text})})
        last_sid: str | None = None
        try:
            for extra in requests:
                await self.pacer.acquire(item.address)
                if callback:
                    extra["status_callback"] = callback
                message = await self._client.messages.create_async(from_=self.from_, to=item.address, **extra)
                last_sid = message.sid
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                return SendResult.retry(f"twilio {exc.status} {exc.code}")
            return SendResult.failed(f"twilio {exc.status} {exc.code}", unreachable=exc.code in PERMANENT_CODES)
        except OSError as exc:  # connection problems (aiohttp's errors are OSErrors)
            return SendResult.retry(f"twilio network: {type(exc).__name__}")
        return SendResult.sent(last_sid)

    async def delivered(self, items: list[OutboundItem]) -> None:
        """Nothing to do: Twilio reports delivery through the status webhook."""


def translate(params: dict[str, str]) -> IncomingMessage | None:
    """Turn Twilio's inbound form params into an IncomingMessage (None when it is not a message)."""
    sender = params.get("From", "").replace(" ", "")
    sid = params.get("MessageSid") or params.get("SmsMessageSid")
    if not sender.startswith("whatsapp:+") or not sid:
        return None
    body = params.get("Body", "")
    media = int(params.get("NumMedia", "0") or 0)
    kind, meta = "text", dict[str, Any]()
    if media:
        kind = "media"
        meta = {"content_types": [params.get(f"MediaContentType{i}", "") for i in range(min(media, 10))]}
    elif params.get("Latitude"):
        kind = "location"
    return IncomingMessage(channel="whatsapp", identity=sender, text=body, kind=kind if not body else "text",
                           meta=meta, payload=params.get("ButtonPayload") or None, channel_message_id=sid,
                           display_name=params.get("ProfileName") or None)
