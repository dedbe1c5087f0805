"""Standaardantwoorden: who may edit, validation, CSRF, escaping, team isolation and use in a reply."""

from __future__ import annotations

from sqlalchemy import select

from data.models import AuditLog, Message, Snippet
from tests.console.conftest import FORM_ID_RE, ask_for_person, csrf_of, login, make_coach, page_csrf

PATH = "/console/standaardantwoorden"


async def _add(client, title: str, text: str, **extra: str):
    _, token = await page_csrf(client, PATH)
    return await client.post(PATH, data={"csrf": token, "title": title, "text": text, **extra})


async def _snippets(runtime) -> list[Snippet]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(Snippet).order_by(Snippet.id))).scalars().all())


async def test_teamleider_adds_edits_and_deletes(runtime, client):
    lead = await make_coach(runtime, "lead@example.org", role="teamleider", team="team-1")
    await login(client, "lead@example.org")
    r = await _add(client, "Openingstijden", "We zijn open van 9 tot 17 uur.", team="team-9")
    assert r.status_code == 303 and "melding=toegevoegd" in r.headers["location"]
    [snippet] = await _snippets(runtime)
    assert snippet.team == "team-1" and snippet.created_by == lead.id  # a teamleider cannot pick a team
    listing = await client.get(PATH)
    assert "Openingstijden" in listing.text and "Het standaardantwoord is toegevoegd." not in listing.text
    html, token = await page_csrf(client, f"{PATH}/{snippet.id}")
    assert "We zijn open van 9 tot 17 uur." in html
    r = await client.post(f"{PATH}/{snippet.id}", data={"csrf": token, "title": "Open", "text": "Van 10 tot 16."})
    assert r.status_code == 303
    [snippet] = await _snippets(runtime)
    assert (snippet.title, snippet.text) == ("Open", "Van 10 tot 16.")
    r = await client.post(f"{PATH}/{snippet.id}/verwijderen", data={"csrf": token})
    assert r.status_code == 303 and await _snippets(runtime) == []
    async with runtime.db.session() as session:
        actions = (await session.execute(select(AuditLog.action).where(AuditLog.subject_type == "snippet"))
                   ).scalars().all()
    assert list(actions) == ["snippet_added", "snippet_changed", "snippet_deleted"]


async def test_validation_shows_the_form_again_in_dutch(runtime, client):
    await make_coach(runtime, "lead@example.org", role="teamleider")
    await login(client, "lead@example.org")
    r = await _add(client, "", "Mijn tekst blijft staan")
    assert r.status_code == 400 and "Vul een titel in." in r.text and "Mijn tekst blijft staan" in r.text
    r = await _add(client, "x" * 81, "tekst")
    assert r.status_code == 400 and "De titel is te lang: maximaal 80 tekens" in r.text
    r = await _add(client, "Titel", "y" * 2001)
    assert r.status_code == 400 and "De tekst is te lang: maximaal 2000 tekens" in r.text
    r = await _add(client, "Titel", "   ")
    assert r.status_code == 400 and "Vul de tekst van het antwoord in." in r.text
    assert await _snippets(runtime) == []
    r = await _add(client, "x" * 80, "y" * 2000)
    assert r.status_code == 303 and len(await _snippets(runtime)) == 1


async def test_csrf_is_required(runtime, client):
    await make_coach(runtime, "lead@example.org", role="teamleider")
    await login(client, "lead@example.org")
    r = await client.post(PATH, data={"title": "Titel", "text": "Tekst"})
    assert r.status_code == 403
    r = await client.post(PATH, data={"csrf": "fout", "title": "Titel", "text": "Tekst"})
    assert r.status_code == 403 and await _snippets(runtime) == []


async def test_begeleider_uses_but_cannot_edit_and_teams_are_separate(runtime, client):
    await make_coach(runtime, "lead@example.org", role="teamleider", team="team-1")
    await make_coach(runtime, "bea@example.org", team="team-1")
    await make_coach(runtime, "olaf@example.org", team="team-2")
    await login(client, "lead@example.org")
    await _add(client, "Welkom team 1", "Hoi!")
    [snippet] = await _snippets(runtime)
    await client.post("/console/logout", data={"csrf": csrf_of((await client.get(PATH)).text)})
    await login(client, "bea@example.org")
    page = await client.get(PATH)
    assert "Welkom team 1" in page.text and 'id="snippet-title"' not in page.text
    r = await client.post(PATH, data={"csrf": csrf_of(page.text), "title": "T", "text": "T"})
    assert r.status_code == 403
    assert (await client.get(f"{PATH}/{snippet.id}")).status_code == 403
    await client.post("/console/logout", data={"csrf": csrf_of(page.text)})
    await login(client, "olaf@example.org")
    assert "Welkom team 1" not in (await client.get(PATH)).text


async def test_redacteur_gets_403(runtime, client):
    await make_coach(runtime, "red@example.org", role="redacteur")
    await login(client, "red@example.org")
    assert (await client.get(PATH)).status_code == 403


async def test_snippet_text_is_escaped(runtime, client):
    await make_coach(runtime, "lead@example.org", role="teamleider")
    await ask_for_person(runtime)
    await login(client, "lead@example.org")
    await _add(client, "<b>vet</b>", '<script>alert("x")</script>')
    page = await client.get(PATH)
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text and "&lt;b&gt;vet" in page.text


async def test_snippet_fills_the_reply_box_without_js_and_is_sent(runtime, client):
    await make_coach(runtime, "lead@example.org", role="teamleider")
    waiting = await ask_for_person(runtime)
    await login(client, "lead@example.org")
    await _add(client, "Afspraak", 'Zullen we een afspraak maken? <a href="x">')
    [snippet] = await _snippets(runtime)
    ticket_path = f"/console/tickets/{waiting.ticket_id}"
    page = await client.get(ticket_path)
    assert 'name="standaardantwoord"' in page.text and ">Afspraak</option>" in page.text
    assert 'data-text="Zullen we een afspraak maken? &lt;a href=&#34;x&#34;&gt;"' in page.text
    page = await client.get(ticket_path, params={"standaardantwoord": str(snippet.id)})
    assert ">Zullen we een afspraak maken? &lt;a href=&#34;x&#34;&gt;</textarea>" in page.text
    found = FORM_ID_RE.search(page.text)
    assert found
    r = await client.post(f"{ticket_path}/antwoord", data={"csrf": csrf_of(page.text), "form_id": found.group(1),
                                                           "text": snippet.text})
    assert r.status_code == 303 and "melding=verstuurd" in r.headers["location"]
    async with runtime.db.session() as session:
        sent = (await session.execute(select(Message.text).where(Message.sender == "coach"))).scalars().all()
    assert list(sent) == [snippet.text]


async def test_snippet_of_another_team_is_not_offered(runtime, client):
    await make_coach(runtime, "beheer@example.org", role="beheerder", team="team-1")
    waiting = await ask_for_person(runtime)  # no begeleider: team-1
    await login(client, "beheer@example.org")
    await _add(client, "Alleen team 2", "Tekst voor team 2", team="team-2")
    [snippet] = await _snippets(runtime)
    assert snippet.team == "team-2"
    page = await client.get(f"/console/tickets/{waiting.ticket_id}", params={"standaardantwoord": str(snippet.id)})
    assert "Alleen team 2" not in page.text and "Tekst voor team 2" not in page.text
