"""Fixtures for the coach console: an app on the test runtime, accounts, and chats that need a person."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from bot.app import build_app
from data.accounts import add_coach
from data.models import Coach, Jongere, Ticket
from tests.helpers import Chat

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
FORM_ID_RE = re.compile(r'name="form_id" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _console_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No waiting after failed logins in tests, and a quick live stream."""
    monkeypatch.setenv("CONSOLE_LOGIN_FAILURE_DELAY", "0")
    monkeypatch.setenv("CONSOLE_EVENTS_POLL_SECONDS", "0.2")


@pytest.fixture
def app(runtime, tmp_path):
    """Return the whole app (web chat, webhooks, console) on the test runtime."""
    runtime.settings.secret_key = "test-secret-key-for-the-console"
    return build_app(runtime)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """Return an HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def make_coach(runtime, email: str, role: str = "begeleider", team: str = "team-1",
                     name: str | None = None) -> Coach:
    """Create an account with the test password."""
    async with runtime.db.transaction() as session:
        coach, _ = await add_coach(session, name=name or email.split("@")[0].title(), email=email, role=role,
                                   team=team, password=PASSWORD)
    return coach


def csrf_of(html: str) -> str:
    """Return the first CSRF token on a page."""
    found = CSRF_RE.search(html)
    assert found, "no csrf token on the page"
    return found.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Log in through the form, as a browser does."""
    page = await client.get("/console/login")
    return await client.post("/console/login", data={"csrf": csrf_of(page.text), "email": email,
                                                     "password": password})


async def page_csrf(client: httpx.AsyncClient, path: str) -> tuple[str, str]:
    """Return a page's HTML and its CSRF token."""
    page = await client.get(path)
    assert page.status_code == 200, page.text[:500]
    return page.text, csrf_of(page.text)


@dataclass
class Waiting:
    """A jongere who asked for a person, and the ticket that made."""

    chat: Chat
    ticket_id: int
    jongere_id: int


async def ask_for_person(runtime, identity: str = "test:jongere-1", text: str | None = None) -> Waiting:
    """Let a jongere chat and ask for a person (through the real dispatcher); return the ticket."""
    chat = Chat(runtime, identity)
    await chat.send(text or "hallo")
    await chat.send("Praat met een medewerker", payload="menu:mens")
    async with runtime.db.session() as session:
        ticket = (await session.execute(select(Ticket).order_by(Ticket.id.desc()).limit(1))).scalar_one()
    return Waiting(chat, ticket.id, ticket.jongere_id)


async def set_begeleider(runtime, jongere_id: int, coach_id: int) -> None:
    """Give a jongere a vaste begeleider (which puts them in that coach's team)."""
    async with runtime.db.transaction() as session:
        jongere = await session.get(Jongere, jongere_id)
        assert jongere is not None
        jongere.begeleider_id = coach_id
