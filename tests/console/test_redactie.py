"""The redactie's console work: sociale kaart editing, version history and revert, unanswered questions."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from data.content import KaartEntry
from data.content_store import record_unanswered, save_kaart_entry, seed_if_empty
from data.models import AuditLog, FaqRecord, KaartRecord, UnansweredQuestion
from nlu.training_data import parse_rasa_yaml
from tests.console.conftest import ask_for_person, csrf_of, login, make_coach, page_csrf
from tests.helpers import Chat, text_of


@pytest.fixture(autouse=True)
def _extra_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Write staff NLU examples to a temporary file, never to the repository."""
    path = tmp_path / "extra_examples.yml"
    monkeypatch.setenv("CONSOLE_EXTRA_EXAMPLES_FILE", str(path))
    return path


async def _redacteur(runtime, client) -> None:
    """Seed the content, and log in as a redacteur."""
    async with runtime.db.transaction() as session:
        await seed_if_empty(session)
    await make_coach(runtime, "red@example.org", role="redacteur", name="Rea")
    await login(client, "red@example.org")


def _kaart_form(token: str, **changes: object) -> dict[str, object]:
    """Return a valid kaart form, changed where asked."""
    form: dict[str, object] = {
        "csrf": token, "organisatie": "Gemeente Almere", "naam": "Schuldhulpverlening",
        "aanbod_nl": "Hulp bij schulden.", "aanbod_en": "Help with debts.", "onderwerpen": ["schulden"],
        "min_age": "", "max_age": "", "voorwaarden_nl": "", "voorwaarden_en": "",
        "aanmelden_nl": "Vraag je begeleider.", "aanmelden_en": "Ask your coach.", "telefoon": "",
        "website": "", "chat": "", "contact_aanvullen": "ja", "bron": "test", "eigenaar": "redactie",
        "gecontroleerd": "ja"}
    form.update(changes)
    return form


async def test_kaart_list_filters_by_onderwerp_and_flags_what_needs_attention(runtime, client):
    await _redacteur(runtime, client)
    async with runtime.db.transaction() as session:
        record = await session.get(KaartRecord, "budgetcoach")
        old = KaartEntry.model_validate(record.data).model_copy(update={"last_checked": date.today()
                                                                        - timedelta(days=200)})
        await save_kaart_entry(session, old, "seed")
    page = await client.get("/console/inhoud/kaart", params={"onderwerp": "schulden"})
    assert page.status_code == 200
    assert "Schuldhulpverlening" in page.text and "Budgetcoach" in page.text and "JINC" not in page.text
    assert "Controleren" in page.text and "Contact aanvullen" in page.text
    only = await client.get("/console/inhoud/kaart", params={"onderwerp": "schulden", "alleen": "controleren"})
    assert "Budgetcoach" in only.text and "/console/inhoud/kaart/schuldhulpverlening" not in only.text
    assert "1 van 42 plekken" in only.text


async def test_kaart_form_answers_with_clear_dutch_messages_and_keeps_the_input(runtime, client):
    await _redacteur(runtime, client)
    html, token = await page_csrf(client, "/console/inhoud/kaart/schuldhulpverlening")
    assert '<label for="min_age">' in html and "Geschiedenis" in html
    r = await client.post("/console/inhoud/kaart/schuldhulpverlening", data=_kaart_form(
        token, organisatie="", min_age="27", max_age="23", onderwerpen=["schulden", "ruimtevaart"],
        naam="<script>alert(1)</script>"))
    assert r.status_code == 400 and "Nog niet opgeslagen" in r.text
    assert "De minimumleeftijd (27) is hoger dan de maximumleeftijd (23)" in r.text
    assert "Vul de naam van de organisatie in." in r.text
    assert "Het onderwerp &#39;ruimtevaart&#39; kennen we niet" in r.text
    assert 'aria-invalid="true"' in r.text and 'href="#min_age"' in r.text
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    r = await client.post("/console/inhoud/kaart/schuldhulpverlening", data=_kaart_form(
        token, contact_aanvullen="", min_age="x"))
    assert r.status_code == 400 and "heel getal" in r.text
    r = await client.post("/console/inhoud/kaart/schuldhulpverlening", data=_kaart_form(token, contact_aanvullen=""))
    assert r.status_code == 400 and "Vul een telefoonnummer, website of chat in" in r.text
    r = await client.post("/console/inhoud/kaart/nieuw", data=_kaart_form(token, id="Geen Id"))
    assert r.status_code == 400 and "kleine letters, cijfers en streepjes" in r.text
    r = await client.post("/console/inhoud/kaart/nieuw", data=_kaart_form(token, id="budgetcoach"))
    assert r.status_code == 400 and "bestaat al" in r.text
    async with runtime.db.session() as session:
        assert (await session.get(KaartRecord, "schuldhulpverlening")).data["organisatie"] == "Gemeente Almere"
    r = await client.post("/console/inhoud/kaart/nieuw", data=_kaart_form(
        token, id="schuldhulp-test", min_age="18", max_age="27", telefoon="036 123 4567", contact_aanvullen="",
        voorwaarden_nl="Je woont in Almere.", voorwaarden_en="You live in Almere."))
    assert r.status_code == 303 and r.headers["location"].endswith("/inhoud/kaart/schuldhulp-test?melding=opgeslagen")
    async with runtime.db.session() as session:
        entry = KaartEntry.model_validate((await session.get(KaartRecord, "schuldhulp-test")).data)
    assert (entry.min_age, entry.max_age, entry.contact.telefoon) == (18, 27, "036 123 4567")
    assert entry.voorwaarden[0].en == "You live in Almere." and entry.last_checked == date.today()


async def test_a_kaart_edit_is_answered_by_the_bot_within_5_seconds(runtime, client):
    await _redacteur(runtime, client)
    chat = Chat(runtime, "test:lezer")
    await chat.send("hallo")
    before = text_of(await chat.send("ik heb schulden"))
    assert "Schuldhulpverlening" in before
    html, token = await page_csrf(client, "/console/inhoud/kaart/schuldhulpverlening")
    saved_at = time.monotonic()
    r = await client.post("/console/inhoud/kaart/schuldhulpverlening", data=_kaart_form(
        token, naam="Schuldhulp NIEUW", sinds=html.split('name="sinds" value="')[1].split('"')[0]))
    assert r.status_code == 303, r.text[:2000]
    while "Schuldhulp NIEUW" not in text_of(await chat.send("ik heb schulden")):
        assert time.monotonic() - saved_at < 5, "the kaart edit did not reach the bot within 5 seconds"
        await asyncio.sleep(0.5)


async def test_a_form_from_before_a_colleagues_edit_is_not_saved(runtime, client):
    await _redacteur(runtime, client)
    html, token = await page_csrf(client, "/console/inhoud/kaart/budgetcoach")
    since = html.split('name="sinds" value="')[1].split('"')[0]
    first = await client.post("/console/inhoud/kaart/budgetcoach", data=_kaart_form(token, naam="Eerste", sinds=since))
    assert first.status_code == 303
    second = await client.post("/console/inhoud/kaart/budgetcoach", data=_kaart_form(token, naam="Tweede",
                                                                                      sinds=since))
    assert second.status_code == 409 and "Rea heeft deze plek intussen gewijzigd" in second.text
    assert 'value="Tweede"' in second.text
    async with runtime.db.session() as session:
        assert (await session.get(KaartRecord, "budgetcoach")).data["naam"] == "Eerste"


async def test_history_shows_who_and_when_and_revert_restores_through_the_audited_save(runtime, client):
    await _redacteur(runtime, client)
    async with runtime.db.session() as session:
        original = (await session.get(FaqRecord, "bijstand-vanaf-18")).data
    _, token = await page_csrf(client, "/console/inhoud/faq/bijstand-vanaf-18")
    r = await client.post("/console/inhoud/faq/bijstand-vanaf-18", data={
        "csrf": token, "vragen": "\n".join(original["vragen"]), "antwoord_nl": "GEWIJZIGD antwoord.",
        "antwoord_en": original["antwoord"]["en"], "onderwerpen": original["onderwerpen"],
        "kaart": ", ".join(original["kaart"])})
    assert r.status_code == 303
    history = await client.get("/console/inhoud/faq/bijstand-vanaf-18/versies")
    assert history.status_code == 200 and "Rea" in history.text and "gewijzigd" in history.text
    async with runtime.db.session() as session:
        change = (await session.execute(select(AuditLog).where(
            AuditLog.subject_type == "faq_entry", AuditLog.subject_id == "bijstand-vanaf-18")
            .order_by(AuditLog.id.desc()))).scalars().first()
    assert change.detail["previous"] == original
    version = await client.get(f"/console/inhoud/faq/bijstand-vanaf-18/versies/{change.id}")
    assert version.status_code == 200 and original["antwoord"]["nl"][:40] in version.text
    assert "GEWIJZIGD antwoord." in version.text and "Deze versie terugzetten" in version.text
    revert_url = f"/console/inhoud/faq/bijstand-vanaf-18/versies/{change.id}/terugzetten"
    assert (await client.post(revert_url, data={})).status_code == 403  # no CSRF token
    r = await client.post(revert_url, data={"csrf": csrf_of(version.text)})
    assert r.status_code == 303 and "melding=teruggezet" in r.headers["location"]
    async with runtime.db.session() as session:
        restored = (await session.get(FaqRecord, "bijstand-vanaf-18")).data
        rows = (await session.execute(select(AuditLog).where(
            AuditLog.subject_type == "faq_entry", AuditLog.subject_id == "bijstand-vanaf-18")
            .order_by(AuditLog.id))).scalars().all()
    assert restored == original
    assert [r.action for r in rows] == ["faq_updated", "faq_updated"]
    assert rows[-1].detail["reverted_from"] == change.id and rows[-1].detail["previous"]["antwoord"]["nl"] == \
        "GEWIJZIGD antwoord."
    assert rows[-1].actor.startswith("coach:")
    page = await client.get("/console/inhoud/faq/bijstand-vanaf-18/versies?melding=teruggezet")
    assert "De vorige versie staat terug" in page.text and "(teruggezet)" in page.text


async def test_kaart_revert_works_too(runtime, client):
    await _redacteur(runtime, client)
    _, token = await page_csrf(client, "/console/inhoud/kaart/budgetcoach")
    await client.post("/console/inhoud/kaart/budgetcoach", data=_kaart_form(token, naam="Ander"))
    async with runtime.db.session() as session:
        change = (await session.execute(select(AuditLog).where(AuditLog.subject_id == "budgetcoach")
                                        .order_by(AuditLog.id.desc()))).scalars().first()
    r = await client.post(f"/console/inhoud/kaart/budgetcoach/versies/{change.id}/terugzetten",
                          data={"csrf": token})
    assert r.status_code == 303
    async with runtime.db.session() as session:
        assert (await session.get(KaartRecord, "budgetcoach")).data["naam"] == "Budgetcoach"


async def test_unknown_and_stale_ids_are_404(runtime, client):
    await _redacteur(runtime, client)
    _, token = await page_csrf(client, "/console/inhoud/kaart/budgetcoach")
    await client.post("/console/inhoud/kaart/budgetcoach", data=_kaart_form(token, naam="Ander"))
    async with runtime.db.session() as session:
        change = (await session.execute(select(AuditLog).where(AuditLog.subject_id == "budgetcoach")
                                        .order_by(AuditLog.id.desc()))).scalars().first()
    for path in ("/console/inhoud/kaart/bestaat-niet", "/console/inhoud/faq/bestaat-niet/versies",
                 "/console/inhoud/kaart/bestaat-niet/versies", "/console/inhoud/kaart/budgetcoach/versies/999999",
                 f"/console/inhoud/kaart/jinc/versies/{change.id}",  # a change of another entry
                 f"/console/inhoud/faq/budgetcoach/versies/{change.id}",  # of another kind
                 "/console/inhoud/onbeantwoord/faq?vraag=999999"):
        assert (await client.get(path)).status_code == 404, path
    for path in ("/console/inhoud/kaart/bestaat-niet", "/console/inhoud/faq/bestaat-niet",
                 "/console/inhoud/kaart/jinc/versies/999999/terugzetten",
                 f"/console/inhoud/kaart/jinc/versies/{change.id}/terugzetten"):
        r = await client.post(path, data=_kaart_form(token, vragen="x", antwoord_nl="y"))
        assert r.status_code == 404, path
    async with runtime.db.session() as session:
        assert await session.get(FaqRecord, "bestaat-niet") is None
        assert await session.get(KaartRecord, "bestaat-niet") is None
    r = await client.post("/console/inhoud/onbeantwoord/afgehandeld", data={"csrf": token, "vraag": "999999"})
    assert r.status_code == 404


async def test_roles_begeleider_cannot_edit_and_redacteur_sees_no_personal_data(runtime, client):
    await make_coach(runtime, "bea@example.org", role="begeleider")
    waiting = await ask_for_person(runtime, "test:privacy", text="hallo ik ben Sanne, bel me op 0612345678")
    async with runtime.db.transaction() as session:
        await record_unanswered(session, "kan ik met 0612345678 bellen over mijn uitkering", "nl")
    await login(client, "bea@example.org")
    inbox = await client.get("/console/inbox")
    for path in ("/console/inhoud/kaart", "/console/inhoud/kaart/budgetcoach", "/console/inhoud/onbeantwoord",
                 "/console/inhoud/faq/bijstand-vanaf-18/versies"):
        assert (await client.get(path)).status_code == 403, path
    r = await client.post("/console/inhoud/kaart/budgetcoach", data=_kaart_form(csrf_of(inbox.text)))
    assert r.status_code == 403
    client.cookies.clear()
    await _redacteur(runtime, client)
    for path in ("/console/inbox", f"/console/tickets/{waiting.ticket_id}", f"/console/jongeren/{waiting.jongere_id}"):
        assert (await client.get(path)).status_code == 403, path
    for path in ("/console/inhoud", "/console/inhoud/kaart", "/console/inhoud/onbeantwoord"):
        page = await client.get(path)
        assert page.status_code == 200 and "0612345678" not in page.text and "Sanne" not in page.text, path
    assert "[nummer]" in (await client.get("/console/inhoud/onbeantwoord")).text


async def test_posts_without_csrf_are_refused(runtime, client):
    await _redacteur(runtime, client)
    for path in ("/console/inhoud/kaart/budgetcoach", "/console/inhoud/kaart/nieuw",
                 "/console/inhoud/onbeantwoord/voorbeeld", "/console/inhoud/onbeantwoord/afgehandeld"):
        assert (await client.post(path, data=_kaart_form(""))).status_code == 403, path
        assert (await client.post(path, data=_kaart_form("0" * 64))).status_code == 403, path


async def test_unanswered_questions_grouped_into_a_faq_or_training_examples(runtime, client, _extra_file):
    await _redacteur(runtime, client)
    async with runtime.db.transaction() as session:
        for text in ("mag mijn hond mee naar de opvang", "mag mijn hond mee naar de opvang",
                     "mag mijn hond ook mee naar de opvang?", "mag mn hond mee in de opvang",
                     "waar kan ik gratis sporten", "waar kan ik gratis sporten in almere"):
            await record_unanswered(session, text, "nl")
    page = await client.get("/console/inhoud/onbeantwoord")
    assert page.status_code == 200 and "(4 keer gevraagd)" in page.text and "(2 keer gevraagd)" in page.text
    assert "de volgende herstart" in page.text and '<option value="vraag_werk">' in page.text
    async with runtime.db.session() as session:
        rows = {q.text: q.id for q in (await session.execute(select(UnansweredQuestion))).scalars()}
    dog = [rows["mag mijn hond mee naar de opvang"], rows["mag mijn hond ook mee naar de opvang?"]]
    form = await client.get("/console/inhoud/onbeantwoord/faq", params=[("vraag", i) for i in dog])
    assert form.status_code == 200 and "mag mijn hond ook mee naar de opvang?" in form.text
    assert f'name="afgehandeld" value="{dog[0]}"' in form.text
    token = csrf_of(form.text)
    r = await client.post("/console/inhoud/faq/nieuw", data={
        "csrf": token, "id": "hond-opvang", "vragen": "mag mijn hond mee naar de opvang", "antwoord_nl": "Nee.",
        "antwoord_en": "No.", "onderwerpen": ["wonen"], "kaart": "", "afgehandeld": [str(i) for i in dog]})
    assert r.status_code == 303
    sport = [rows["waar kan ik gratis sporten"], rows["waar kan ik gratis sporten in almere"]]
    r = await client.post("/console/inhoud/onbeantwoord/voorbeeld", data={
        "csrf": token, "intent": "bestaat_niet", "vraag": [str(i) for i in sport]})
    assert r.status_code == 400 and "Kies een bedoeling" in r.text
    r = await client.post("/console/inhoud/onbeantwoord/voorbeeld", data={
        "csrf": token, "intent": "buiten_bereik", "vraag": [str(i) for i in sport]})
    assert r.status_code == 303 and "melding=voorbeeld" in r.headers["location"]
    content = yaml.safe_load(_extra_file.read_text(encoding="utf-8"))
    assert content["version"] == "3.1"
    assert parse_rasa_yaml(content).texts("buiten_bereik") == ["waar kan ik gratis sporten",
                                                                "waar kan ik gratis sporten in almere"]
    async with runtime.db.session() as session:
        left = [q.text for q in (await session.execute(select(UnansweredQuestion))).scalars()]
    assert left == ["mag mn hond mee in de opvang"]  # not chosen for the FAQ, so still open
    done = await client.get("/console/inhoud/onbeantwoord?melding=voorbeeld")
    assert "volgende herstart" in done.text and "gratis sporten" not in done.text
