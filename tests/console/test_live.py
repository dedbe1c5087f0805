"""The console's live stream over real HTTP: a new ticket in the web chat reaches the inbox stream."""

from __future__ import annotations

import asyncio
import time

import httpx

from bot.app import build_app
from tests.console.conftest import csrf_of, make_coach
from tests.fakes.server import LiveServer


async def test_new_ticket_is_announced_on_the_event_stream(runtime):
    runtime.settings.secret_key = "test-secret-key-for-the-console"
    await make_coach(runtime, "bea@example.org")
    server = LiveServer(build_app(runtime), lifespan="on")
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10, trust_env=False) as http:
            page = await http.get("/console/login")
            r = await http.post("/console/login", data={"csrf": csrf_of(page.text), "email": "bea@example.org",
                                                        "password": "correct horse battery staple"})
            assert r.status_code == 303
            sid = (await http.post("/chat/api/sessions")).json()["session_id"]
            events: list[str] = []
            async with http.stream("GET", "/console/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                started = 0.0
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        events.append(line[7:])
                    if events == ["ready"] and not started:
                        started = time.monotonic()
                        await http.post(f"/chat/api/sessions/{sid}/messages", json={"text": "ik wil een mens spreken"})
                    if "inbox" in events:
                        break
                latency = time.monotonic() - started
            assert events[:2] == ["ready", "inbox"] and latency < 3
            inbox = await http.get("/console/inbox/lijst")
            assert "1 open ticket" in inbox.text and "Webchat" in inbox.text
    finally:
        await asyncio.to_thread(server.stop)
