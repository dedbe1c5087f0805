"""End to end in Debian's Chromium (Playwright): a jongere asks for a person in the web chat, a coach answers.

Skipped with a clear message when Chromium or Playwright is missing (`make install` installs both).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

from bot.app import build_app
from tests.console.browser_support import ARGS, CHROMIUM, SKIP_WITHOUT_BROWSER, db_url  # noqa: F401
from tests.console.conftest import PASSWORD, make_coach
from tests.fakes.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DOCS = ROOT / "docs"

try:
    from playwright.async_api import Page, async_playwright, expect
except ImportError:  # pragma: no cover - reported by the skip below
    async_playwright = None  # type: ignore[assignment]

pytestmark = SKIP_WITHOUT_BROWSER


async def _axe(page: Page) -> list[str]:
    """Run axe-core on the page and return the serious and critical violations (empty when axe is absent)."""
    if not AXE.exists():
        return []
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']});
        const bad = r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
        return {bad: bad, passes: r.passes.length};
    }""")
    assert result["passes"] > 10, "axe-core did not run its checks"
    return list(result["bad"])


async def test_jongere_asks_for_a_person_and_the_coach_answers_live(runtime):
    runtime.settings.secret_key = "test-secret-key-for-the-console"
    await make_coach(runtime, "bea@example.org", role="teamleider", name="Bea")
    server = LiveServer(build_app(runtime), lifespan="on")
    await asyncio.to_thread(server.start)
    violations: dict[str, list[str]] = {}
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                coach_ctx = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 860})
                youth_ctx = await browser.new_context(bypass_csp=True, viewport={"width": 400, "height": 760})
                coach, youth = await coach_ctx.new_page(), await youth_ctx.new_page()

                await coach.goto(server.url("/console/inbox"))
                await expect(coach).to_have_url(server.url("/console/login?next=/console/inbox"))
                violations["login"] = await _axe(coach)
                await coach.get_by_label("E-mailadres").fill("bea@example.org")
                await coach.get_by_label("Wachtwoord").fill(PASSWORD)
                await coach.get_by_role("button", name="Inloggen").click()
                await expect(coach.get_by_role("heading", name="Inbox")).to_be_visible()
                await expect(coach.locator("html[data-live='ready']")).to_have_count(1, timeout=5000)
                await expect(coach.get_by_text("Er staan geen open chats")).to_be_visible()

                await youth.goto(server.url("/chat"))
                await expect(youth.locator("#log")).to_contain_text("Welkom", timeout=5000)
                violations["chat"] = await _axe(youth)
                await youth.get_by_label("Typ je bericht").fill("ik wil een mens spreken")
                await youth.get_by_role("button", name="Versturen").click()

                # The ticket appears in the open inbox without a reload.
                ticket_link = coach.get_by_role("link", name="Wil een mens spreken")
                await expect(ticket_link).to_be_visible(timeout=5000)
                await expect(coach.get_by_text("1 open ticket")).to_be_visible()
                violations["inbox"] = await _axe(coach)
                if os.environ.get("CONSOLE_SCREENSHOTS"):
                    DOCS.mkdir(exist_ok=True)
                    await coach.screenshot(path=str(DOCS / "console-inbox.png"), full_page=True)
                await ticket_link.click()
                await expect(coach.get_by_role("heading", name="Gesprek via Webchat")).to_be_visible()
                await expect(coach.locator(".history")).to_contain_text("ik wil een mens spreken")
                await coach.get_by_role("button", name="Oppakken").click()
                await expect(coach.get_by_role("status")).to_contain_text("Je hebt deze chat opgepakt")

                # The jongere writes again: it shows up on the open ticket page by itself.
                await youth.get_by_label("Typ je bericht").fill("hallo? <b>ben je daar</b>")
                await youth.get_by_role("button", name="Versturen").click()
                await expect(coach.locator(".history")).to_contain_text("hallo? <b>ben je daar</b>", timeout=5000)

                await coach.get_by_label("Jouw antwoord aan").fill("Hoi, ik ben Bea van het Jongerenloket.")
                await coach.get_by_role("button", name="Versturen").click()
                await expect(coach.get_by_role("status")).to_contain_text("Je bericht staat klaar")
                await expect(youth.locator("#log")).to_contain_text("Hoi, ik ben Bea van het Jongerenloket.",
                                                                    timeout=5000)
                await expect(coach.locator(".msg-coach .status")).to_have_text("verstuurd", timeout=5000)
                violations["ticket"] = await _axe(coach)

                await coach.get_by_role("link", name="Dossier van").click()
                await expect(coach.get_by_role("heading", name="Kanalen en bereikbaarheid")).to_be_visible()
                violations["dossier"] = await _axe(coach)
                await coach.goto(server.url("/console/cijfers"))
                await expect(coach.get_by_role("heading", name="Cijfers", exact=True)).to_be_visible()
                violations["cijfers"] = await _axe(coach)
                await coach.go_back()
                if os.environ.get("CONSOLE_SCREENSHOTS"):
                    await coach.screenshot(path=str(DOCS / "console-dossier.png"), full_page=True)
                    await coach.goto(server.url("/console/cijfers"))
                    await coach.screenshot(path=str(DOCS / "console-cijfers.png"), full_page=True)
                    await coach.go_back()
                await coach.get_by_role("link", name="Wil een mens spreken").click()  # the dossier's ticket list
                await coach.get_by_role("button", name="Terug naar de bot").click()
                await expect(coach.get_by_role("status")).to_contain_text("terug bij de chatbot")
                await expect(youth.locator("#log")).to_contain_text("weer met de chatbot", timeout=5000)
                await coach.get_by_role("link", name="Terug naar de inbox").click()
                await expect(coach.get_by_text("Er staan geen open chats")).to_be_visible()
            finally:
                await browser.close()
    finally:
        await asyncio.to_thread(server.stop)
    serious = {page: found for page, found in violations.items() if found}
    assert not serious, "axe-core found serious/critical accessibility problems:\n" + json.dumps(serious, indent=1)


async def test_content_pages_pass_axe(runtime):
    """The redactie's pages (FAQ, sociale kaart, history, unanswered questions) have no serious axe findings."""
    from data.content_store import record_unanswered, save_kaart_entry, seed_if_empty
    from data.models import KaartRecord

    runtime.settings.secret_key = "test-secret-key-for-the-console"
    await make_coach(runtime, "rea@example.org", role="redacteur", name="Rea")
    async with runtime.db.transaction() as session:
        await seed_if_empty(session)
        await record_unanswered(session, "mag mijn hond mee naar de opvang", "nl")
        await record_unanswered(session, "mag mn hond mee in de opvang", "nl")
        record = await session.get(KaartRecord, "budgetcoach")
        from data.content import KaartEntry

        entry = KaartEntry.model_validate(record.data)
        await save_kaart_entry(session, entry.model_copy(update={"naam": "Budgetcoach (oud)"}), "coach:1")
        await save_kaart_entry(session, entry, "coach:1")
    server = LiveServer(build_app(runtime), lifespan="on")
    await asyncio.to_thread(server.start)
    violations: dict[str, list[str]] = {}
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                ctx = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 860})
                page = await ctx.new_page()
                await page.goto(server.url("/console/login?next=/console/inhoud"))
                await page.get_by_label("E-mailadres").fill("rea@example.org")
                await page.get_by_label("Wachtwoord").fill(PASSWORD)
                await page.get_by_role("button", name="Inloggen").click()
                await expect(page.get_by_role("heading", name="Inhoud: veelgestelde vragen")).to_be_visible()
                violations["inhoud"] = await _axe(page)
                for name, path, heading in (
                        ("faq", "/console/inhoud/faq/bijstand-vanaf-18", "FAQ bewerken"),
                        ("faq-nieuw", "/console/inhoud/faq/nieuw", "Nieuwe FAQ"),
                        ("kaart", "/console/inhoud/kaart", "Sociale kaart"),
                        ("kaart-bewerken", "/console/inhoud/kaart/budgetcoach", "Budgetcoach"),
                        ("kaart-nieuw", "/console/inhoud/kaart/nieuw", "Nieuwe plek op de sociale kaart"),
                        ("versies", "/console/inhoud/kaart/budgetcoach/versies", "Geschiedenis van"),
                        ("onbeantwoord", "/console/inhoud/onbeantwoord", "Vragen zonder antwoord"),
                        ("test", "/console/inhoud/test?vraag=ik+heb+schulden", "Test een vraag")):
                    await page.goto(server.url(path))
                    await expect(page.get_by_role("heading", name=heading, exact=False).first).to_be_visible()
                    violations[name] = await _axe(page)
                await page.goto(server.url("/console/inhoud/kaart/budgetcoach/versies"))
                await page.get_by_role("link", name="Bekijk versie").first.click()
                await expect(page.get_by_role("button", name="Deze versie terugzetten")).to_be_visible()
                violations["versie"] = await _axe(page)
                await page.goto(server.url("/console/inhoud/kaart/budgetcoach"))
                await page.get_by_label("Vanaf (jaar)").fill("30")
                await page.get_by_label("Tot en met (jaar)").fill("20")
                await page.get_by_label("Organisatie").fill("")
                await page.get_by_role("button", name="Opslaan en publiceren").click()
                await expect(page.get_by_role("alert")).to_contain_text("De minimumleeftijd (30) is hoger")
                violations["kaart-fouten"] = await _axe(page)
                await page.goto(server.url("/console/inhoud/onbeantwoord"))
                await page.get_by_role("link", name="Maak hier een FAQ van").first.click()
                await expect(page.get_by_label("Vragen (één per regel)")).to_contain_text("mag mn hond mee")
            finally:
                await browser.close()
    finally:
        await asyncio.to_thread(server.stop)
    serious = {name: found for name, found in violations.items() if found}
    assert not serious, "axe-core found serious/critical accessibility problems:\n" + json.dumps(serious, indent=1)


def test_chromium_runs_headless():
    """Chromium itself starts (a quick check that the browser tests are not silently broken)."""
    out = subprocess.run([str(CHROMIUM), *ARGS, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Chromium" in out.stdout
