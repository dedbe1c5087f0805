"""The web chat: JSON in, long-poll or server-sent events out, a page at /chat for phones."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.channels.base import OutboundItem, SendResult
from data import conversations
from data.models import Message
from flows.messages import IncomingMessage

if TYPE_CHECKING:
    from bot.runtime import Runtime

WEB = Path(__file__).resolve().parent.parent / "web"
MAX_BODY_BYTES = 64 * 1024
templates = Jinja2Templates(directory=str(WEB / "templates"))


class WebChatChannel:
    """Delivers replies to web chat sessions by waking their open polls and event streams."""

    name = "web"

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def send(self, item: OutboundItem) -> SendResult:
        """Accept the reply: the browser fetches it from the stored messages."""
        return SendResult.sent(f"web-{item.id}")

    async def delivered(self, items: list[OutboundItem]) -> None:
        """Wake the browsers waiting for these addresses."""
        for address in {item.address for item in items}:
            for event in self._waiters.get(address, set()):
                event.set()

    async def wait(self, address: str, timeout: float) -> None:
        """Wait until something is delivered to `address`, or `timeout` seconds pass."""
        event = asyncio.Event()
        self._waiters[address].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters[address].discard(event)
            if not self._waiters[address]:
                del self._waiters[address]


def _address(session_id: str) -> str | None:
    """Return the identity address of a well-formed session id, or None."""
    try:
        return f"web:{uuid.UUID(session_id)}"
    except ValueError:
        return None


def _message_json(message: Message) -> dict[str, Any]:
    """Return one message as the browser sees it."""
    payload = message.payload or {}
    return {"id": message.id, "direction": message.direction, "sender": message.sender,
            "text": message.text,
            "buttons": payload.get("buttons", []) if message.direction == "out" else [],
            "links": payload.get("links", []) if message.direction == "out" else [],
            "at": (message.sent_at or message.created_at).isoformat()}


def _error(status: int, code: str, message: str) -> JSONResponse:
    """Return a JSON error the page can show."""
    return JSONResponse({"error": code, "message": message}, status_code=status)


class WebChatRoutes:
    """The HTTP side of the web chat."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def routes(self) -> list[Route | Mount]:
        """Return the routes to mount on the app."""
        return [
            Route("/chat", self.page, methods=["GET"]),
            Route("/chat/api/sessions", self.new_session, methods=["POST"]),
            Route("/chat/api/sessions/{session_id}/messages", self.post_message, methods=["POST"]),
            Route("/chat/api/sessions/{session_id}/messages", self.get_messages, methods=["GET"]),
            Route("/chat/api/sessions/{session_id}/events", self.events, methods=["GET"]),
            Mount("/chat/static", app=StaticFiles(directory=str(WEB / "static")), name="chat-static"),
        ]

    async def page(self, request: Request) -> HTMLResponse:
        """Serve the chat page."""
        return templates.TemplateResponse(request, "chat.html", {})

    async def new_session(self, request: Request) -> JSONResponse:
        """Start a new chat session; the welcome arrives as its first messages."""
        session_id = str(uuid.uuid4())
        address = f"web:{session_id}"
        await self.runtime.dispatcher.handle(IncomingMessage(channel="web", identity=address, text="",
                                                             kind="start"))
        return JSONResponse({"session_id": session_id}, status_code=201)

    async def _known(self, session_id: str) -> str | None:
        """Return the address of an existing session, or None."""
        address = _address(session_id)
        if address is None:
            return None
        async with self.runtime.db.session() as session:
            ref = await conversations.load(session, address)
        return address if ref is not None else None

    async def post_message(self, request: Request) -> JSONResponse:
        """Take a message from the browser and hand it to the dispatcher."""
        address = await self._known(request.path_params["session_id"])
        if address is None:
            return _error(404, "unknown_session", "This chat session does not exist; start a new one.")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "too_large", "Message too large.")
        try:
            data = json.loads(body.decode("utf-8", "replace"))
        except json.JSONDecodeError:
            return _error(400, "bad_json", "Send JSON like {\"text\": \"hoi\"}.")
        if not isinstance(data, dict):
            return _error(400, "bad_json", "Send a JSON object like {\"text\": \"hoi\"}.")
        text, payload, client_id = data.get("text", ""), data.get("payload"), data.get("client_message_id")
        if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)) \
                or (client_id is not None and not isinstance(client_id, str)):
            return _error(400, "bad_fields", "text, payload and client_message_id must be strings.")
        outcome = await self.runtime.dispatcher.handle(IncomingMessage(
            channel="web", identity=address, text=text, payload=payload or None,
            channel_message_id=client_id[:120] if client_id else None))
        return JSONResponse({"accepted": True, "duplicate": outcome.duplicate}, status_code=202)

    async def _messages_after(self, address: str, after: int) -> list[dict[str, Any]]:
        """Return the messages of a session after message id `after` that the browser may show."""
        async with self.runtime.db.session() as session:
            ref = await conversations.load(session, address)
            if ref is None:
                return []
            rows = (await session.execute(
                select(Message).where(
                    Message.conversation_id == ref.conversation.id, Message.id > after,
                    or_(Message.direction == "out", Message.kind != "start"))
                .order_by(Message.id).limit(200))).scalars().all()
        shown: list[dict[str, Any]] = []
        for message in rows:
            if message.direction == "out" and message.sent_at is None:
                break  # not delivered yet: stop here so the cursor never skips it
            shown.append(_message_json(message))
        return shown

    async def get_messages(self, request: Request) -> JSONResponse:
        """Return new messages; with `wait` seconds, wait for them (long-poll)."""
        address = await self._known(request.path_params["session_id"])
        if address is None:
            return _error(404, "unknown_session", "This chat session does not exist; start a new one.")
        try:
            after = int(request.query_params.get("after", "0"))
            wait = min(float(request.query_params.get("wait", "0")), 30.0)
        except ValueError:
            return _error(400, "bad_query", "after must be a number, wait a number of seconds.")
        messages = await self._messages_after(address, after)
        deadline = asyncio.get_running_loop().time() + wait
        while not messages and asyncio.get_running_loop().time() < deadline:
            await self.runtime.webchat.wait(address, min(2.0, deadline - asyncio.get_running_loop().time()))
            messages = await self._messages_after(address, after)
        cursor = messages[-1]["id"] if messages else after
        return JSONResponse({"messages": messages, "cursor": cursor})

    async def events(self, request: Request) -> Response:
        """Stream new messages as server-sent events, resuming after Last-Event-ID."""
        address = await self._known(request.path_params["session_id"])
        if address is None:
            return _error(404, "unknown_session", "This chat session does not exist; start a new one.")
        raw = request.headers.get("last-event-id") or request.query_params.get("after", "0")
        after = int(raw) if raw.isdigit() else 0

        async def stream() -> AsyncIterator[str]:
            cursor = after
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                for message in await self._messages_after(address, cursor):
                    cursor = message["id"]
                    yield f"id: {cursor}\nevent: message\ndata: {json.dumps(message)}\n\n"
                await self.runtime.webchat.wait(address, 15.0)
                yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
