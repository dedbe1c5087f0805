"""Inbox, ticket page, replies through the outbox, back to the bot, stale forms, teams and escaping."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from coach_console.access import DEFAULT_TEAM
from data.models import AuditLog, ChannelIdentity, Conversation, Message, Note, OutboxItem, Ticket, utcnow
from flows.messages import IncomingMessage
from tests.console.conftest import (
    FORM_ID_RE,
    ask_for_person,
    login,
    make_coach,
    page_csrf,
    set_begeleider,
)
from tests.helpers import Chat


async def _reply(client, ticket_id: int, text: str, form_id: str | None = None, csrf: str | None = None):
    html, token = await page_csrf(client, f"/console/tickets/{ticket_id}")
    found = FORM_ID_RE.search(html)
    form_id = form_id or (found.group(1) if found else "x")
    return await client.post(f"/console/tickets/{ticket_id}/antwoord",
                             data={"csrf": csrf or token, "form_id": form_id, "text": text}), html, form_id


async def test_inbox_lists_open_tickets_crisis_first_with_safety_info(runtime, client):
    await make_coach(runtime, "bea@example.org")
    first = await ask_for_person(runtime, "test:j-person")
    crisis_chat = Chat(runtime, "test:j-crisis")
    await crisis_chat.send("hallo")
    await crisis_chat.send("ik wil niet meer leven")
    await login(client, "bea@example.org")
    page = await client.get("/console/inbox")
    assert page.status_code == 200
    text = page.text
    assert "2 open tickets" in text and 'data-live-inbox' in text and 'aria-live="polite"' in text
    assert text.index("kind-crisis") < text.index("kind-mens_spreken")  # most urgent first
    assert "Deze veiligheidsinformatie kreeg de jongere meteen" in text and "113" in text
    assert "Wil een mens spreken" in text and "Test" in text and "Nog niemand" in text
    assert "binnen 4 werkuren" in text and "direct" in text
    assert f'/console/tickets/{first.ticket_id}"' in text
    fragment = await client.get("/console/inbox/lijst")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "2 open tickets" in fragment.text


async def test_pick_up_reply_goes_to_the_outbox_on_the_jongere_channel(runtime, client):
    coach = await make_coach(runtime, "bea@example.org", name="Bea")
    waiting = await ask_for_person(runtime)
    await login(client, "bea@example.org")
    _, token = await page_csrf(client, f"/console/tickets/{waiting.ticket_id}")
    r = await client.post(f"/console/tickets/{waiting.ticket_id}/oppakken", data={"csrf": token})
    assert r.status_code == 303 and "melding=opgepakt" in r.headers["location"]
    async with runtime.db.session() as session:
        ticket = await session.get(Ticket, waiting.ticket_id)
        conversation = await session.get(Conversation, ticket.conversation_id)
        assert ticket.assigned_coach_id == coach.id and ticket.state == "in_progress"
        assert conversation.mode == "with_coach"
    # The bot stays quiet while the coach has the chat.
    assert await waiting.chat.send("zijn jullie daar?") == []

    r, html, _ = await _reply(client, waiting.ticket_id, "Hoi! Ik ben Bea. Waar kan ik je mee helpen?")
    assert "Jouw antwoord aan" in html and '<label for="reply-text">' in html
    assert r.status_code == 303 and "melding=verstuurd" in r.headers["location"]
    async with runtime.db.session() as session:
        message = (await session.execute(select(Message).where(Message.sender == "coach"))).scalar_one()
        item = (await session.execute(select(OutboxItem).where(OutboxItem.message_id == message.id))).scalar_one()
        ticket = await session.get(Ticket, waiting.ticket_id)
    assert message.coach_id == coach.id and message.direction == "out" and message.channel == "test"
    assert item.channel == "test" and item.address == "test:jongere-1" and item.kind == "reply"
    assert item.state == "pending" and ticket.first_response_at is not None
    page = await client.get(f"/console/tickets/{waiting.ticket_id}")
    assert "in de wachtrij" in page.text
    while await runtime.sender.drain_once():
        pass
    assert waiting.chat.channel.texts("test:jongere-1")[-1] == "Hoi! Ik ben Bea. Waar kan ik je mee helpen?"
    page = await client.get(f"/console/tickets/{waiting.ticket_id}")
    assert "verstuurd" in page.text and "Je bericht staat klaar" not in page.text


async def test_the_same_form_twice_sends_once(runtime, client):
    await make_coach(runtime, "bea@example.org")
    waiting = await ask_for_person(runtime)
    await login(client, "bea@example.org")
    first, _, form_id = await _reply(client, waiting.ticket_id, "Een keer")
    second, _, _ = await _reply(client, waiting.ticket_id, "Een keer", form_id=form_id)
    assert "verstuurd" in first.headers["location"] and "dubbel" in second.headers["location"]
    async with runtime.db.session() as session:
        count = (await session.execute(select(func.count()).select_from(Message)
                                       .where(Message.sender == "coach"))).scalar_one()
    assert count == 1


async def test_whatsapp_outside_the_24_hour_window_uses_the_template_kind(runtime, client):
    await make_coach(runtime, "bea@example.org")
    address = "whatsapp:+31611112222"
    await runtime.dispatcher.handle(IncomingMessage(channel="whatsapp", identity=address, text="hallo",
                                                    channel_message_id="wa-1"))
    await runtime.dispatcher.handle(IncomingMessage(channel="whatsapp", identity=address, text="Medewerker",
                                                    payload="menu:mens", channel_message_id="wa-2"))
    async with runtime.db.transaction() as session:
        identity = (await session.execute(select(ChannelIdentity).where(ChannelIdentity.address == address))
                    ).scalar_one()
        ticket = (await session.execute(select(Ticket))).scalar_one()
        identity.last_inbound_at = utcnow() - timedelta(hours=30)
    await login(client, "bea@example.org")
    r, html, _ = await _reply(client, ticket.id, "Hoi, ik bel je morgen.")
    assert "sjabloonbericht" in html and r.status_code == 303
    async with runtime.db.session() as session:
        item = (await session.execute(select(OutboxItem).join(Message, Message.id == OutboxItem.message_id)
                                      .where(Message.sender == "coach"))).scalar_one()
    assert item.channel == "whatsapp" and item.address == address and item.kind == "bericht_van_begeleider"


async def test_back_to_bot_closes_and_a_stale_form_sends_nothing(runtime, client, app):
    import httpx

    await make_coach(runtime, "bea@example.org", name="Bea")
    await make_coach(runtime, "kees@example.org", name="Kees")
    waiting = await ask_for_person(runtime)
    await login(client, "bea@example.org")
    html, token = await page_csrf(client, f"/console/tickets/{waiting.ticket_id}")
    stale_form_id = FORM_ID_RE.search(html).group(1)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4002))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as colleague:
        await login(colleague, "kees@example.org")
        _, colleague_token = await page_csrf(colleague, f"/console/tickets/{waiting.ticket_id}")
        r = await colleague.post(f"/console/tickets/{waiting.ticket_id}/terug-naar-bot",
                                 data={"csrf": colleague_token})
        assert r.status_code == 303 and "melding=terug" in r.headers["location"]
    async with runtime.db.session() as session:
        ticket = await session.get(Ticket, waiting.ticket_id)
        conversation = await session.get(Conversation, ticket.conversation_id)
        assert ticket.state == "closed" and ticket.closed_at is not None and conversation.mode == "bot"
    while await runtime.sender.drain_once():
        pass
    assert "weer met de chatbot" in waiting.chat.channel.texts("test:jongere-1")[-1]
    # Bea's page was made before Kees closed the ticket: her reply is refused, clearly.
    r = await client.post(f"/console/tickets/{waiting.ticket_id}/antwoord",
                          data={"csrf": token, "form_id": stale_form_id, "text": "Nog een vraag?"})
    assert r.status_code == 409 and "al gesloten door Kees" in r.text and "niet verstuurd" in r.text
    assert "Nog een vraag?" in r.text  # her text is not lost
    r = await client.post(f"/console/tickets/{waiting.ticket_id}/terug-naar-bot", data={"csrf": token})
    assert r.status_code == 409
    r = await client.post(f"/console/tickets/{waiting.ticket_id}/oppakken", data={"csrf": token})
    assert r.status_code == 409
    async with runtime.db.session() as session:
        coach_messages = (await session.execute(select(func.count()).select_from(Message).where(
            Message.coach_id.is_not(None)))).scalar_one()
    assert coach_messages == 1  # only the one back-to-bot message
    # The bot answers again.
    assert await waiting.chat.send("menu")


async def test_html_in_messages_and_notes_is_escaped(runtime, client):
    await make_coach(runtime, "bea@example.org")
    waiting = await ask_for_person(runtime, text="<script>alert('x')</script> hoi")
    await login(client, "bea@example.org")
    _, token = await page_csrf(client, f"/console/tickets/{waiting.ticket_id}")
    await client.post(f"/console/tickets/{waiting.ticket_id}/notitie",
                      data={"csrf": token, "text": "<img src=x onerror=alert(1)> let op"})
    await _reply(client, waiting.ticket_id, "<b>vet</b>")
    page = await client.get(f"/console/tickets/{waiting.ticket_id}")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; hoi" in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text and "<b>vet</b>" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt; let op" in page.text
    dossier = await client.get(f"/console/jongeren/{waiting.jongere_id}")
    assert "<img src=x" not in dossier.text and "&lt;img src=x" in dossier.text
    async with runtime.db.session() as session:
        note = (await session.execute(select(Note))).scalar_one()
    assert note.ticket_id == waiting.ticket_id and note.jongere_id == waiting.jongere_id


async def test_teams_and_roles_limit_what_a_coach_sees(runtime, client):
    team2 = await make_coach(runtime, "tom@example.org", team="team-2", name="Tom")
    await make_coach(runtime, "redactie@example.org", role="redacteur")
    await make_coach(runtime, "baas@example.org", role="beheerder", team="team-9")
    default_ticket = await ask_for_person(runtime, "test:j-default")
    own = await ask_for_person(runtime, "test:j-team2")
    await set_begeleider(runtime, own.jongere_id, team2.id)
    assert DEFAULT_TEAM == "team-1"

    await login(client, "tom@example.org")
    inbox = await client.get("/console/inbox")
    assert f"/console/tickets/{own.ticket_id}\"" in inbox.text
    assert f"/console/tickets/{default_ticket.ticket_id}\"" not in inbox.text and "1 open ticket" in inbox.text
    assert (await client.get(f"/console/tickets/{default_ticket.ticket_id}")).status_code == 404
    assert (await client.get(f"/console/jongeren/{default_ticket.jongere_id}")).status_code == 404
    _, token = await page_csrf(client, f"/console/tickets/{own.ticket_id}")
    r = await client.post(f"/console/tickets/{default_ticket.ticket_id}/antwoord",
                          data={"csrf": token, "form_id": "f1", "text": "hoi"})
    assert r.status_code == 404
    assert (await client.get("/console/cijfers")).status_code == 403
    assert (await client.get("/console/inhoud")).status_code == 403
    assert (await client.get("/console/tickets/999999")).status_code == 404

    client.cookies.clear()
    await login(client, "redactie@example.org")
    assert (await client.get("/console/")).headers["location"] == "/console/inhoud"
    for path in ("/console/inbox", f"/console/tickets/{own.ticket_id}", f"/console/jongeren/{own.jongere_id}",
                 "/console/cijfers", "/console/inbox/lijst"):
        r = await client.get(path)
        assert r.status_code == 403, path
        assert "geen toegang" in r.text
    assert (await client.get("/console/events")).status_code == 403

    client.cookies.clear()
    await login(client, "baas@example.org")  # beheerder: every team
    inbox = await client.get("/console/inbox")
    assert "2 open tickets" in inbox.text


async def test_views_are_written_to_the_audit_log(runtime, client):
    coach = await make_coach(runtime, "bea@example.org")
    waiting = await ask_for_person(runtime)
    await login(client, "bea@example.org")
    await client.get(f"/console/tickets/{waiting.ticket_id}")
    dossier = await client.get(f"/console/jongeren/{waiting.jongere_id}")
    assert dossier.status_code == 200 and "Kanalen en bereikbaarheid" in dossier.text
    assert "test:jongere-1" in dossier.text and "Wil een mens spreken" in dossier.text
    async with runtime.db.session() as session:
        conversation_id = (await session.execute(select(Ticket.conversation_id))).scalar_one()
    history = await client.get(f"/console/gesprekken/{conversation_id}")
    assert history.status_code == 200 and "Praat met een medewerker" in history.text
    async with runtime.db.session() as session:
        rows = (await session.execute(select(AuditLog).where(AuditLog.actor == f"coach:{coach.id}"))).scalars().all()
    seen = {(r.action, r.subject_type, r.subject_id) for r in rows}
    assert ("ticket_viewed", "ticket", str(waiting.ticket_id)) in seen
    assert ("dossier_viewed", "jongere", str(waiting.jongere_id)) in seen
    assert ("conversation_viewed", "conversation", str(conversation_id)) in seen
    assert all(r.at is not None for r in rows)


async def test_dossier_shows_reachability_and_consent(runtime, client):
    await make_coach(runtime, "bea@example.org")
    waiting = await ask_for_person(runtime)
    async with runtime.db.transaction() as session:
        identity = (await session.execute(select(ChannelIdentity))).scalar_one()
        identity.unreachable, identity.unreachable_reason = True, "nummer bestaat niet"
        from data.records import record_consent

        await record_consent(session, waiting.jongere_id, "intake", True, "v1", "test")
    await login(client, "bea@example.org")
    page = await client.get(f"/console/jongeren/{waiting.jongere_id}")
    assert "Niet bereikbaar" in page.text and "nummer bestaat niet" in page.text
    assert "intake" in page.text and "v1" in page.text and "<main" in page.text and "<nav" in page.text


async def test_history_is_paged_newest_last(runtime, client, monkeypatch):
    monkeypatch.setenv("CONSOLE_HISTORY_PAGE_SIZE", "4")
    import httpx

    from bot.app import build_app

    await make_coach(runtime, "bea@example.org")
    waiting = await ask_for_person(runtime)
    for n in range(6):
        await waiting.chat.send(f"bericht nummer {n}")
    transport = httpx.ASGITransport(app=build_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as paged:
        await login(paged, "bea@example.org")
        page = await paged.get(f"/console/tickets/{waiting.ticket_id}")
        assert "bericht nummer 5" in page.text and "bericht nummer 1" not in page.text
        assert page.text.index("bericht nummer 4") < page.text.index("bericht nummer 5")
        assert "Oudere berichten laden" in page.text
        older = page.text.split('href="?voor=')[1].split("#")[0]
        page = await paged.get(f"/console/tickets/{waiting.ticket_id}?voor={older}")
        assert "bericht nummer 1" in page.text and "bericht nummer 5" not in page.text
