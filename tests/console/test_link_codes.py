"""Telegram koppelen in the dossier: issue a code (with or without the bot's username), list, revoke, access."""

from __future__ import annotations

import re

from sqlalchemy import select

from data import link_codes
from data.models import AuditLog, LinkCode
from tests.console.conftest import ask_for_person, login, make_coach, page_csrf


async def test_begeleider_issues_a_code_and_sees_link_and_expiry(runtime, client):
    runtime.settings.telegram_bot_username = "@JongerenloketBot"
    coach = await make_coach(runtime, "bea@example.org", name="Bea")
    waiting = await ask_for_person(runtime, "test:web-jongere")
    await login(client, "bea@example.org")
    path = f"/console/jongeren/{waiting.jongere_id}"
    html, token = await page_csrf(client, path)
    assert "Telegram koppelen" in html and "Geen open codes." in html
    r = await client.post(f"{path}/telegram", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"].startswith(f"{path}?melding=telegram-code")
    async with runtime.db.session() as session:
        link = (await session.execute(select(LinkCode))).scalar_one()
        audit = (await session.execute(select(AuditLog).where(AuditLog.action == "link_code_issued"))).scalar_one()
    assert link.jongere_id == waiting.jongere_id and link.created_by == coach.id and link.used_at is None
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", link.code) and audit.actor == f"coach:{coach.id}"
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert f"https://t.me/JongerenloketBot?start={link.code}" in page.text
    assert "Er is een Telegram-code gemaakt" in page.text and "Nieuw" in page.text and "Bea" in page.text
    assert "Geen open codes." not in page.text
    # Revoke: the code stops working and leaves the list.
    r = await client.post(f"{path}/telegram/{link.id}/intrekken", data={"csrf": token})
    assert r.status_code == 303 and "telegram-ingetrokken" in r.headers["location"]
    page = await client.get(r.headers["location"])
    assert link.code not in page.text and "Geen open codes." in page.text


async def test_without_a_bot_username_the_page_shows_the_command(runtime, client):
    await make_coach(runtime, "bea@example.org")
    waiting = await ask_for_person(runtime, "test:web-jongere")
    await login(client, "bea@example.org")
    path = f"/console/jongeren/{waiting.jongere_id}"
    _, token = await page_csrf(client, path)
    r = await client.post(f"{path}/telegram", data={"csrf": token})
    page = await client.get(r.headers["location"])
    async with runtime.db.session() as session:
        code = (await session.execute(select(LinkCode.code))).scalar_one()
    assert f"stuur /start {code} naar de bot" in page.text and "t.me/" not in page.text
    # The jongere sends the code from Telegram: the dossier shows the new channel, the code is gone.
    async with runtime.db.transaction() as session:
        assert (await link_codes.redeem_code(session, code, "telegram:555")).ok
    page = await client.get(path)
    assert "<td>Telegram</td>" in page.text and "telegram:555" in page.text and code not in page.text


async def test_csrf_role_and_team_are_checked(runtime, client):
    await make_coach(runtime, "bea@example.org")
    await make_coach(runtime, "red@example.org", role="redacteur")
    await make_coach(runtime, "ander@example.org", team="team-2")
    waiting = await ask_for_person(runtime, "test:web-jongere")
    path = f"/console/jongeren/{waiting.jongere_id}/telegram"
    await login(client, "bea@example.org")
    assert (await client.post(path, data={"csrf": "wrong"})).status_code == 403
    await client.post("/console/logout", data={"csrf": (await page_csrf(client, "/console/inbox"))[1]})
    await login(client, "red@example.org")
    _, token = await page_csrf(client, "/console/wachtwoord")
    assert (await client.post(path, data={"csrf": token})).status_code == 403
    await client.post("/console/logout", data={"csrf": token})
    await login(client, "ander@example.org")
    _, token = await page_csrf(client, "/console/inbox")
    assert (await client.post(path, data={"csrf": token})).status_code == 404
    async with runtime.db.session() as session:
        assert (await session.execute(select(LinkCode))).first() is None
