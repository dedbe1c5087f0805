"""Console basics in Debian's Chromium (Playwright): login/logout, FAQ edit reaching the bot, team walls, CSRF.

Same launch options and skip logic as test_browser.py; each test serves the real app with LiveServer
and shares one browser between its pages.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import build_app
from data.content_store import seed_if_empty
from tests.console.browser_support import ARGS, CHROMIUM, SKIP_WITHOUT_BROWSER, db_url  # noqa: F401
from tests.console.conftest import PASSWORD, ask_for_person, make_coach, set_begeleider
from tests.fakes.server import LiveServer

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - reported by the skip below
    async_playwright = None  # type: ignore[assignment]

pytestmark = SKIP_WITHOUT_BROWSER


@asynccontextmanager
async def serve(runtime: Any) -> AsyncIterator[tuple[LiveServer, Browser]]:
    """Serve the real app on a free port and launch one Chromium for the test."""
    runtime.settings.secret_key = "test-secret-key-for-the-console"
    server = LiveServer(build_app(runtime), lifespan="on")
    await asyncio.to_thread(server.start)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                yield server, browser
            finally:
                await browser.close()
    finally:
        await asyncio.to_thread(server.stop)


async def log_in(page: Page, server: LiveServer, email: str, path: str = "/console/inbox") -> None:
    """Log in through the login form, starting from `path`."""
    await page.goto(server.url(path))
    await page.get_by_label("E-mailadres").fill(email)
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()


async def test_login_logout_and_a_post_without_csrf_is_refused(runtime: Any) -> None:
    await make_coach(runtime, "bea@example.org", role="begeleider", name="Bea")
    async with serve(runtime) as (server, browser):
        page = await (await browser.new_context()).new_page()
        await page.goto(server.url("/console/login"))
        await page.get_by_label("E-mailadres").fill("bea@example.org")
        await page.get_by_label("Wachtwoord").fill("niet-het-wachtwoord")
        await page.get_by_role("button", name="Inloggen").click()
        await expect(page.get_by_role("heading", name="Inbox")).to_have_count(0)

        await log_in(page, server, "bea@example.org")
        await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()

        refused = await page.request.post(server.url("/console/logout"), form={"x": "1"}, max_redirects=0)
        assert refused.status == 403 and "formulier is verlopen" in await refused.text()
        await page.reload()  # still logged in: the forged logout did nothing
        await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()

        await page.get_by_role("button", name="Uitloggen").click()
        await expect(page).to_have_url(server.url("/console/login?melding=uitgelogd"))
        await page.goto(server.url("/console/inbox"))
        await expect(page).to_have_url(server.url("/console/login?next=/console/inbox"))


async def test_redacteur_edits_a_faq_and_the_web_chat_answers_with_it(runtime: Any) -> None:
    async with runtime.db.transaction() as session:
        await seed_if_empty(session)
    await make_coach(runtime, "rea@example.org", role="redacteur", name="Rea")
    new_text = "NIEUW in de browser: bijstand vraag je aan bij W&I."
    async with serve(runtime) as (server, browser):
        context = await browser.new_context()
        page = await context.new_page()
        await log_in(page, server, "rea@example.org", "/console/inhoud/faq/bijstand-vanaf-18")
        await expect(page.get_by_role("heading", name="FAQ bewerken", exact=False).first).to_be_visible()
        await page.get_by_label("Antwoord in het Nederlands").fill(new_text)
        await page.get_by_role("button", name="Opslaan en publiceren").click()
        await expect(page).to_have_url(re.compile(r"melding=opgeslagen"))
        saved_at = time.monotonic()

        chat = await context.new_page()
        await chat.goto(server.url("/chat"))
        await expect(chat.locator("#log")).to_contain_text("Welkom", timeout=5000)
        while True:  # the bot re-reads content within a few seconds of an edit
            await chat.get_by_label("Typ je bericht").fill("wanneer kan ik bijstand krijgen")
            await chat.get_by_role("button", name="Versturen").click()
            try:
                await expect(chat.locator("#log")).to_contain_text(new_text, timeout=1500)
                break
            except AssertionError:
                assert time.monotonic() - saved_at < 8, "the edit did not reach the web chat"


async def test_begeleider_cannot_open_another_teams_dossier(runtime: Any) -> None:
    bea = await make_coach(runtime, "bea@example.org", team="team-1", name="Bea")
    await make_coach(runtime, "olaf@example.org", team="team-2", name="Olaf")
    waiting = await ask_for_person(runtime, "test:dossier")
    await set_begeleider(runtime, waiting.jongere_id, bea.id)
    dossier = f"/console/jongeren/{waiting.jongere_id}"
    async with serve(runtime) as (server, browser):
        own = await (await browser.new_context()).new_page()
        await log_in(own, server, "bea@example.org", dossier)
        await expect(own.get_by_role("heading", name="Kanalen en bereikbaarheid")).to_be_visible()

        other = await (await browser.new_context()).new_page()
        await log_in(other, server, "olaf@example.org")
        await expect(other.get_by_role("heading", name="Inbox")).to_be_visible()
        response = await other.goto(server.url(dossier))
        assert response is not None and response.status in (403, 404)
        await expect(other.get_by_text("Deze pagina bestaat niet, of je mag hem niet zien.")
                     .or_(other.get_by_text("Je hebt geen toegang tot deze pagina."))).to_be_visible()
        await expect(other.get_by_role("heading", name="Kanalen en bereikbaarheid")).to_have_count(0)
