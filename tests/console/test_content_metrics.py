"""Content editing for the redactie (live in the bot within seconds) and the team leader's figures."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import timedelta

from coach_console.config import ConsoleSettings
from coach_console.metrics import percentile
from coach_console.sla import sla_status, working_seconds
from data.content_store import seed_if_empty
from data.models import FaqRecord, Ticket
from tests.console.conftest import ask_for_person, login, make_coach, page_csrf
from tests.helpers import Chat, text_of


async def _seed(runtime) -> None:
    async with runtime.db.transaction() as session:
        await seed_if_empty(session)


async def test_redacteur_edits_a_faq_answer_and_the_bot_uses_it_within_5_seconds(runtime, client):
    await _seed(runtime)
    await make_coach(runtime, "red@example.org", role="redacteur")
    await login(client, "red@example.org")
    listing = await client.get("/console/inhoud")
    assert listing.status_code == 200 and "wanneer kan ik bijstand krijgen" in listing.text
    assert "Inbox" not in listing.text  # no personal data, no inbox link
    html, token = await page_csrf(client, "/console/inhoud/faq/bijstand-vanaf-18")
    assert '<label for="antwoord_nl">' in html
    async with runtime.db.session() as session:
        data = (await session.get(FaqRecord, "bijstand-vanaf-18")).data
    form = {"csrf": token, "vragen": "\n".join(data["vragen"]),
            "antwoord_nl": "NIEUW: bijstand vraag je aan bij W&I vanaf 18 jaar.",
            "antwoord_en": data["antwoord"]["en"], "onderwerpen": data["onderwerpen"],
            "kaart": ", ".join(data["kaart"])}
    saved_at = time.monotonic()
    r = await client.post("/console/inhoud/faq/bijstand-vanaf-18", data=form)
    assert r.status_code == 303 and "melding=opgeslagen" in r.headers["location"]
    chat = Chat(runtime, "test:lezer")
    await chat.send("hallo")
    while True:
        replies = await chat.send("wanneer kan ik bijstand krijgen")
        if "NIEUW: bijstand" in text_of(replies):
            break
        assert time.monotonic() - saved_at < 5, "the edit did not reach the bot within 5 seconds"
        await asyncio.sleep(0.5)
    tested = await client.get("/console/inhoud/test", params={"vraag": "wanneer kan ik bijstand krijgen"})
    assert tested.status_code == 200 and "NIEUW: bijstand" in tested.text and "bijstand-vanaf-18" in tested.text


async def test_invalid_faq_is_not_saved_and_says_why(runtime, client):
    await _seed(runtime)
    await make_coach(runtime, "red@example.org", role="redacteur")
    await login(client, "red@example.org")
    _, token = await page_csrf(client, "/console/inhoud/faq/bijstand-vanaf-18")
    r = await client.post("/console/inhoud/faq/bijstand-vanaf-18", data={
        "csrf": token, "vragen": "een vraag", "antwoord_nl": "antwoord", "antwoord_en": "answer",
        "onderwerpen": ["uitkering"], "kaart": "bestaat-niet"})
    assert r.status_code == 400 and "bestaat-niet" in r.text and "Nog niet opgeslagen" in r.text
    r = await client.post("/console/inhoud/faq/nieuw", data={
        "csrf": token, "id": "Geen Geldig Id", "vragen": "", "antwoord_nl": "", "antwoord_en": "",
        "kaart": ""})
    assert r.status_code == 400
    r = await client.post("/console/inhoud/faq/nieuw", data={
        "csrf": token, "id": "nieuwe-vraag", "vragen": "mag ik een <b>hond</b>", "antwoord_nl": "Ja.",
        "antwoord_en": "Yes.", "onderwerpen": ["wonen"], "kaart": ""})
    assert r.status_code == 303
    listing = await client.get("/console/inhoud")
    assert "mag ik een &lt;b&gt;hond&lt;/b&gt;" in listing.text
    async with runtime.db.session() as session:
        data = (await session.get(FaqRecord, "bijstand-vanaf-18")).data
    assert data["kaart"] != ["bestaat-niet"]


async def test_metrics_page_and_csv_for_the_teamleider(runtime, client):
    await make_coach(runtime, "lead@example.org", role="teamleider")
    first = await ask_for_person(runtime, "test:m1")
    await ask_for_person(runtime, "test:m2")
    async with runtime.db.transaction() as session:
        ticket = await session.get(Ticket, first.ticket_id)
        ticket.first_response_at = ticket.created_at + timedelta(minutes=30)
    await login(client, "lead@example.org")
    page = await client.get("/console/cijfers")
    assert page.status_code == 200 and "<svg" in page.text and 'role="img"' in page.text
    assert "Open tickets per wachttijd" in page.text and "30 min" in page.text
    export = await client.get("/console/cijfers.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["cijfer", "groep", "kanaal", "waarde"]
    assert ["open_tickets_per_leeftijd", "korter dan 1 uur", "", "2"] in rows
    assert ["eerste_reactie_mediaan_sec", "laatste 30 dagen", "", "1800"] in rows
    assert any(r[0] == "nieuwe_jongeren_per_week" and r[2] == "test" and r[3] == "2" for r in rows)


def test_working_hours_and_sla_levels():
    settings = ConsoleSettings()
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Amsterdam")
    friday_4pm = datetime(2026, 11, 27, 16, 0, tzinfo=zone)
    monday_11am = datetime(2026, 11, 30, 11, 0, tzinfo=zone)
    assert working_seconds(friday_4pm, monday_11am, settings) == 3 * 3600  # 1 h Friday + 2 h Monday
    assert sla_status("mens_spreken", friday_4pm, None, monday_11am, settings).level == "bijna"
    assert sla_status("mens_spreken", friday_4pm, None, monday_11am + timedelta(hours=1), settings).label == "te laat"
    assert sla_status("crisis", monday_11am, None, monday_11am, settings).label == "nu oppakken"
    assert sla_status("mens_spreken", friday_4pm, monday_11am, monday_11am, settings).level == "beantwoord"
    assert percentile([10, 20, 30, 40], 0.5) == 25 and percentile([], 0.9) is None
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.1
