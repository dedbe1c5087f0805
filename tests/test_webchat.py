"""The web chat over HTTP: sessions, messages, long-poll, events and bad input."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from bot.app import build_app
from bot.runtime import Runtime
from data.settings import Settings
from tests.fakes.server import LiveServer


@pytest.fixture
async def client(runtime):
    await runtime.start()
    transport = httpx.ASGITransport(app=build_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def _wait_for(client, sid: str, after: int, predicate, rounds: int = 10):
    messages: list[dict] = []
    for _ in range(rounds):
        r = await client.get(f"/chat/api/sessions/{sid}/messages", params={"after": after, "wait": 2})
        assert r.status_code == 200
        messages += r.json()["messages"]
        after = r.json()["cursor"]
        if predicate(messages):
            break
    return messages, after


async def test_page_and_health(client):
    page = await client.get("/chat")
    assert page.status_code == 200 and "Typ je bericht" in page.text and 'lang="nl"' in page.text
    assert (await client.get("/chat/static/chat.js")).status_code == 200
    health = await client.get("/healthz")
    assert health.json()["status"] == "ok"
    console = await client.get("/console/", follow_redirects=False)  # the console asks for a login first
    assert console.status_code == 303 and console.headers["location"].startswith("/console/login")


async def test_new_session_gets_the_welcome_and_can_pick_a_language(client):
    r = await client.post("/chat/api/sessions")
    assert r.status_code == 201
    sid = r.json()["session_id"]
    msgs, cursor = await _wait_for(client, sid, 0, lambda m: any(x["buttons"] for x in m))
    assert "Welkom" in msgs[0]["text"] and msgs[0]["direction"] == "out"
    assert [b["payload"] for b in msgs[-1]["buttons"]] == ["lang:nl", "lang:en"]
    r = await client.post(f"/chat/api/sessions/{sid}/messages", json={"text": "English", "payload": "lang:en"})
    assert r.status_code == 202
    msgs, _ = await _wait_for(client, sid, cursor, lambda m: any(x["direction"] == "out" for x in m))
    assert msgs[0]["direction"] == "in" and msgs[0]["text"] == "English"
    assert "What can I help you with?" in msgs[-1]["text"]


async def test_unknown_and_malformed_session_ids_are_404_not_500(client):
    unknown = str(uuid.uuid4())
    for sid in (unknown, "not-a-uuid", "12345"):
        r = await client.post(f"/chat/api/sessions/{sid}/messages", json={"text": "hoi"})
        assert r.status_code == 404 and r.json()["error"] == "unknown_session"
        assert (await client.get(f"/chat/api/sessions/{sid}/messages")).status_code == 404


async def test_malformed_json_and_wrong_types_are_400(client):
    sid = (await client.post("/chat/api/sessions")).json()["session_id"]
    url = f"/chat/api/sessions/{sid}/messages"
    bad = await client.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_json"
    assert (await client.post(url, json=["hoi"])).status_code == 400
    assert (await client.post(url, json={"text": 5})).status_code == 400
    assert (await client.post(url, content=b"\xff\xfe", headers={"content-type": "application/json"})
            ).status_code == 400
    assert (await client.get(url, params={"after": "x"})).status_code == 400


async def test_same_client_message_id_twice_is_one_message(client):
    sid = (await client.post("/chat/api/sessions")).json()["session_id"]
    _, cursor = await _wait_for(client, sid, 0, lambda m: len(m) >= 2)
    body = {"text": "help", "client_message_id": "fixed-id-1"}
    assert (await client.post(f"/chat/api/sessions/{sid}/messages", json=body)).json()["duplicate"] is False
    assert (await client.post(f"/chat/api/sessions/{sid}/messages", json=body)).json()["duplicate"] is True
    msgs, _ = await _wait_for(client, sid, cursor, lambda m: any(x["direction"] == "out" for x in m))
    assert len([m for m in msgs if m["direction"] == "in"]) == 1


async def test_events_stream_over_real_http(db_url, nlu_engine):
    """Serve the whole app with uvicorn on loopback and read the event stream as a browser would."""
    runtime = Runtime(Settings(database_url=db_url, outbox_poll_seconds=0.05), nlu=nlu_engine)
    server = LiveServer(build_app(runtime), lifespan="on")
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10, trust_env=False) as http:
            sid = (await http.post("/chat/api/sessions")).json()["session_id"]
            events: list[dict] = []
            async with http.stream("GET", f"/chat/api/sessions/{sid}/events") as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                async for line in r.aiter_lines():
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
                    if len(events) == 2:
                        break
            assert "Welkom" in events[0]["text"] and events[0]["id"] < events[1]["id"]
            # Resume after the first event: only the second comes again.
            async with http.stream("GET", f"/chat/api/sessions/{sid}/events",
                                   headers={"Last-Event-ID": str(events[0]["id"])}) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data: "):
                        assert json.loads(line[6:])["id"] == events[1]["id"]
                        break
    finally:
        server.stop()
