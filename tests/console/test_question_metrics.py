"""Questions per week by outcome and the most shown kaart items, from real conversations."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from coach_console import metrics
from data.content_store import seed_if_empty
from data.models import Coach, Message, OutboxItem
from flows.messages import Button, Reply
from tests.console.conftest import ask_for_person, login, make_coach
from tests.helpers import Chat


async def _bot_payloads(runtime) -> list[dict]:
    """Return the payloads of the bot's stored replies."""
    async with runtime.db.session() as session:
        rows = (await session.execute(select(Message.payload).where(
            Message.direction == "out", Message.sender == "bot").order_by(Message.id))).scalars().all()
    return [p for p in rows if p]


async def test_questions_per_week_and_top_kaart_items(runtime, client):
    async with runtime.db.transaction() as session:
        await seed_if_empty(session)
    await make_coach(runtime, "lead@example.org", role="teamleider")
    chat = Chat(runtime, "test:vrager")
    await chat.send("hallo")
    await chat.send("wanneer kan ik bijstand krijgen")
    await chat.send("qwzx blorp fnargl")
    await chat.send("ik heb schulden, waar kan ik hulp krijgen")
    await ask_for_person(runtime, "test:mens")
    payloads = await _bot_payloads(runtime)
    answers = [p.get("answer") for p in payloads]
    assert "faq" in answers and "fallback" in answers
    shown = [i for p in payloads for i in p.get("kaart_ids", [])]
    assert shown
    for p in payloads:  # the markers hold no text the jongere typed
        assert "qwzx" not in str(p) and "schulden, waar" not in str(p)
    async with runtime.db.session() as session:
        outbox = (await session.execute(select(OutboxItem.payload))).scalars().all()
    assert outbox and not any("answer" in p or "kaart_ids" in p for p in outbox)  # channels get no markers

    async with runtime.db.session() as session:
        lead = (await session.execute(select(Coach).where(Coach.email == "lead@example.org"))).scalar_one()
        figures = await metrics.collect(session, lead)
    this_week = figures.weeks[-1]
    counts = figures.questions_per_week[this_week]
    assert counts["bot"] == answers.count("faq") + answers.count("kaart") >= 2
    assert counts["fallback"] >= 1 and counts["medewerker"] == 1
    assert figures.top_kaart and figures.top_kaart[0].value >= 1 and len(figures.top_kaart) <= metrics.TOP_KAART

    await login(client, "lead@example.org")
    page = await client.get("/console/cijfers")
    assert page.status_code == 200 and "Vragen per week" in page.text and "Meest getoonde kaart-items" in page.text
    assert figures.top_kaart[0].label.split(" (")[0] in page.text
    rows = list(csv.reader(io.StringIO((await client.get("/console/cijfers.csv")).text)))
    assert ["vragen_medewerker_per_week", this_week, "", "1"] in rows
    assert ["vragen_bot_per_week", this_week, "", str(counts["bot"])] in rows
    assert ["vragen_fallback_per_week", this_week, "", str(counts["fallback"])] in rows
    assert sum(1 for r in rows if r[0] == "meest_getoonde_kaart_items") == len(figures.top_kaart)


def test_reply_meta_stays_out_of_the_channel_form():
    reply = Reply("tekst", buttons=(Button("Menu", "menu:menu"),), meta={"answer": "kaart", "kaart_ids": ["a"]})
    assert "answer" not in reply.to_json() and "meta" not in reply.to_json()
    assert Reply.from_json(reply.to_json()) == reply
