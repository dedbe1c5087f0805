"""The coach console: a Starlette app mounted at /console, server-rendered with Jinja2.

`console_routes(runtime)` returns the routes for `bot/app.py`. The runtime is only used through the
small `ConsoleRuntime` protocol (database, texts, settings, the sender's wake-up, the NLU), so this
package depends on `data` and `flows` alone.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any, Final, Protocol

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coach_console import metrics as metrics_mod
from coach_console import redactie, security, service
from coach_console import snippets as snippets_mod
from coach_console.access import ROLE_NAMES, may
from coach_console.config import ConsoleSettings
from coach_console.content_pages import ContentPages
from coach_console.hub import Hub
from coach_console.jongeren import JongerenPages
from coach_console.sla import answer_deadline, sla_status
from coach_console.snippets import SnippetPages
from data import link_codes
from data.accounts import hasher
from data.content import ONDERWERPEN, FaqEntry
from data.content_store import delete_unanswered, list_unanswered, load_all, save_faq_entry
from data.db import Database
from data.models import Coach, FaqRecord, utcnow
from data.settings import Settings
from flows import handoff
from flows.texts import Texts

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PREFIX: Final = "/console"
templates = Jinja2Templates(directory=str(HERE / "templates"))
DUMMY_HASH: Final = hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD: Final = 12

NOTICES: Final = {  # fixed texts shown after a redirect; the URL carries only the key
    "verstuurd": ("ok", "Je bericht staat klaar en wordt nu verstuurd."),
    "opgepakt": ("ok", "Je hebt deze chat opgepakt. De chatbot reageert niet meer; jij antwoordt."),
    "notitie": ("ok", "Je notitie is bewaard. Alleen collega's kunnen hem lezen."),
    "terug": ("ok", "De chat is terug bij de chatbot en het ticket is gesloten. "
                    "De jongere heeft een bericht gekregen."),
    "dubbel": ("info", "Dit bericht was al verstuurd. We hebben het niet nog een keer gestuurd."),
    "leeg": ("fout", "Je bericht is leeg. Typ eerst iets."),
    "uitgelogd": ("ok", "Je bent uitgelogd."),
    "wachtwoord": ("ok", "Je wachtwoord is gewijzigd. Op andere apparaten ben je uitgelogd."),
    "opgeslagen": ("ok", "Opgeslagen en gepubliceerd. De chatbot gebruikt de nieuwe tekst binnen een paar seconden."),
}


class Waker(Protocol):
    """The outbox sender, as far as the console needs it."""

    def wake(self, channel: str | None = None) -> None:
        """Make the sender look at the outbox now."""


class ConsoleRuntime(Protocol):
    """What the console needs from the running desk (bot.runtime.Runtime provides it)."""

    settings: Settings
    db: Database
    texts: Texts

    @property
    def sender(self) -> Waker:
        """Return the outbox sender."""

    @property
    def dispatcher(self) -> Any:
        """Return the dispatcher (for its NLU engine and its outbox hook)."""


class LoginRequired(Exception):
    """The request needs a signed-in coach."""


class SecurityHeaders:
    """Add strict security headers to every console response."""

    HEADERS: Final = [
        (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                     b"script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                                     b"base-uri 'none'"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and add the headers to the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.HEADERS if n not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _int(value: str | None) -> int | None:
    """Return a positive int from a query or path value, or None."""
    return int(value) if value and value.isdigit() and len(value) < 18 else None


def _safe_next(target: str | None) -> str | None:
    """Return a console-local path to go to after login, or None for anything else."""
    if not target or not target.startswith(PREFIX + "/") or "//" in target or "\\" in target:
        return None
    return target


def _age_text(moment: Any) -> str:
    """Return a moment as local date and time for the page."""
    from zoneinfo import ZoneInfo

    if moment is None:
        return ""
    return str(moment.astimezone(ZoneInfo("Europe/Amsterdam")).strftime("%d-%m-%Y %H:%M"))


templates.env.filters["when"] = _age_text


class Console:
    """The console's handlers around one runtime."""

    def __init__(self, runtime: ConsoleRuntime, settings: ConsoleSettings | None = None) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = settings or ConsoleSettings()
        self.secret = security.load_secret_key(runtime.settings.secret_key, runtime.settings.var_dir)
        self.secure_cookies = runtime.settings.public_base_url.startswith("https://")
        self.hub = Hub()
        dispatcher = getattr(runtime, "dispatcher", None)
        previous = getattr(dispatcher, "on_outbox", None)
        if dispatcher is not None and hasattr(dispatcher, "on_outbox"):
            def on_outbox(channel: str) -> None:  # a turn stored replies: maybe a new ticket too
                if previous is not None:
                    previous(channel)
                self.hub.notify()
            dispatcher.on_outbox = on_outbox

    # --- plumbing -----------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """Return the console's routes, relative to /console."""
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/wachtwoord", self.password_page, methods=["GET"]),
            Route("/wachtwoord", self.change_password, methods=["POST"]),
            Route("/inbox", self.inbox_page, methods=["GET"]),
            Route("/inbox/lijst", self.inbox_fragment, methods=["GET"]),
            Route("/events", self.events, methods=["GET"]),
            Route("/tickets/{ticket_id:int}", self.ticket_page, methods=["GET"]),
            Route("/tickets/{ticket_id:int}/berichten", self.ticket_fragment, methods=["GET"]),
            Route("/tickets/{ticket_id:int}/oppakken", self.pick_up, methods=["POST"]),
            Route("/tickets/{ticket_id:int}/antwoord", self.reply, methods=["POST"]),
            Route("/tickets/{ticket_id:int}/notitie", self.add_note, methods=["POST"]),
            Route("/tickets/{ticket_id:int}/terug-naar-bot", self.back_to_bot, methods=["POST"]),
            Route("/gesprekken/{conversation_id:int}", self.conversation_page, methods=["GET"]),
            Route("/jongeren/{jongere_id:int}", self.dossier_page, methods=["GET"]),
            Route("/inhoud", self.content_page, methods=["GET"]),
            Route("/inhoud/test", self.content_test, methods=["GET"]),
            Route("/inhoud/faq/{faq_id}", self.faq_page, methods=["GET"]),
            Route("/inhoud/faq/{faq_id}", self.save_faq, methods=["POST"]),
            # --- content editing for the redactie: sociale kaart, versions, onbeantwoorde vragen ---
            *ContentPages(self).routes(),
            # --- end content editing ---
            Route("/cijfers", self.metrics_page, methods=["GET"]),
            Route("/cijfers.csv", self.metrics_csv, methods=["GET"]),
            # --- Telegram koppelen (link codes) ---
            Route("/jongeren/{jongere_id:int}/telegram", self.issue_link_code, methods=["POST"]),
            Route("/jongeren/{jongere_id:int}/telegram/{code_id:int}/intrekken", self.revoke_link_code,
                  methods=["POST"]),
            # --- end Telegram koppelen ---
            # --- jongere list and standaardantwoorden (coach_console/jongeren.py, snippets.py) ---
            *JongerenPages(self).routes(),
            *SnippetPages(self).routes(),
            # --- end jongere list and standaardantwoorden ---
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="console-static"),
        ]

    def app(self) -> Starlette:
        """Return the console as an ASGI app with its own error pages and security headers."""
        return Starlette(routes=self.routes(), middleware=[Middleware(SecurityHeaders)],
                         exception_handlers={LoginRequired: self._to_login, HTTPException: self._error_page})

    async def _to_login(self, request: Request, exc: Exception) -> Response:
        """Send an anonymous visitor to the login page, remembering where they wanted to go."""
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.url.path.startswith(f"{PREFIX}/events") or request.headers.get("x-requested-with"):
            return PlainTextResponse("Log opnieuw in.", status_code=401)
        from urllib.parse import quote

        return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)

    async def _error_page(self, request: Request, exc: Exception) -> Response:
        """Show an error as a page in plain Dutch."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        messages = {403: "Je hebt geen toegang tot deze pagina.",
                    404: "Deze pagina bestaat niet, of je mag hem niet zien.", 405: "Dit kan hier niet.",
                    429: "Even wachten: te veel pogingen."}
        text = (exc.detail if isinstance(exc, HTTPException) and exc.detail and status not in (404, 405)
                and exc.detail not in ("Forbidden", "Not Found") else messages.get(status, "Er ging iets mis."))
        me = getattr(request.state, "me", None)
        return templates.TemplateResponse(request, "error.html", self._context(request, {
            "title": "Foutmelding", "status": status, "text": text, "me": me}), status_code=status)

    def _context(self, request: Request, values: dict[str, Any]) -> dict[str, Any]:
        """Return the template values every page needs."""
        me: Coach | None = values.get("me") or getattr(request.state, "me", None)
        token: str | None = getattr(request.state, "token", None)
        notice_key = request.query_params.get("melding")
        notice = values.get("notice")
        if notice is None and notice_key in NOTICES:
            level, text = NOTICES[notice_key]
            notice = {"level": level, "text": text}
        return {"me": me, "csrf": security.csrf_token(self.secret, token) if token else "",
                "role_name": ROLE_NAMES.get(me.role, me.role) if me else "",
                "may_chats": bool(me and may(me, "chats")), "may_content": bool(me and may(me, "content")),
                "may_metrics": bool(me and may(me, "metrics")), "path": request.url.path, **values,
                "notice": notice}

    def render(self, request: Request, name: str, values: dict[str, Any], status: int = 200) -> HTMLResponse:
        """Render a template with the common values."""
        return templates.TemplateResponse(request, name, self._context(request, values), status_code=status)

    async def signed_in(self, request: Request) -> Coach | None:
        """Return the coach of the session cookie (and remember it on the request), or None."""
        token = request.cookies.get(security.SESSION_COOKIE)
        async with self.db.session() as session:
            found = await security.find_session(session, token)
        if found is None:
            return None
        request.state.me, request.state.token = found[0], token
        return found[0]

    async def require(self, request: Request, permission: str | None = None) -> Coach:
        """Return the signed-in coach; LoginRequired when anonymous, 403 without the permission."""
        me = await self.signed_in(request)
        if me is None:
            raise LoginRequired
        if permission is not None and not may(me, permission):
            raise HTTPException(403, "Je rol geeft geen toegang tot dit deel van de console.")
        return me

    async def form(self, request: Request, bound_to: str | None = None) -> FormData:
        """Read a posted form and check its CSRF token (403 when missing or wrong)."""
        form = await request.form(max_files=0, max_fields=60)
        bound = bound_to if bound_to is not None else getattr(request.state, "token", None)
        sent = form.get("csrf")
        if not security.csrf_ok(self.secret, bound, sent if isinstance(sent, str) else None):
            raise HTTPException(403, "Dit formulier is verlopen of ongeldig. "
                                     "Laad de pagina opnieuw en probeer het nog eens.")
        return form

    def _set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        """Set an HttpOnly, SameSite=Lax cookie on the console path (Secure behind https)."""
        response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="lax",
                            secure=self.secure_cookies)

    # --- accounts -----------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        """Send a coach to the start page of their role."""
        me = await self.require(request)
        if may(me, "chats"):
            return RedirectResponse(f"{PREFIX}/inbox", status_code=303)
        if may(me, "content"):
            return RedirectResponse(f"{PREFIX}/inhoud", status_code=303)
        return RedirectResponse(f"{PREFIX}/wachtwoord", status_code=303)

    def _login_form(self, request: Request, *, error: str | None = None, email: str = "", status: int = 200,
                    pre: str | None = None) -> Response:
        """Render the login form with a pre-login CSRF token."""
        pre = pre or request.cookies.get(security.PRE_COOKIE) or ""
        fresh = len(pre) < 20 or len(pre) > 100
        if fresh:
            pre = secrets.token_urlsafe(24)
        response = self.render(request, "login.html", {
            "title": "Inloggen", "error": error, "email": email, "next": _safe_next(request.query_params.get("next")),
            "login_csrf": security.csrf_token(self.secret, pre), "me": None}, status=status)
        if fresh:
            self._set_cookie(response, security.PRE_COOKIE, pre, None)
        return response

    async def login_page(self, request: Request) -> Response:
        """Show the login form (or go on when already signed in)."""
        if await self.signed_in(request) is not None:
            return RedirectResponse(f"{PREFIX}/", status_code=303)
        return self._login_form(request)

    async def login(self, request: Request) -> Response:
        """Check e-mail and password; slow down and lock after repeated failures."""
        pre = request.cookies.get(security.PRE_COOKIE)
        form = await self.form(request, bound_to=pre or "")
        email = str(form.get("email", "")).strip().lower()[:254]
        password = str(form.get("password", ""))[:1024]
        ip = request.client.host if request.client else "-"
        key = security.failure_key(email, ip)
        async with self.db.session() as session:
            locked = await security.locked_for(session, key)
        if locked > 0:
            return self._login_form(request, email=email, status=429, error=(
                f"Te vaak een verkeerd wachtwoord. Probeer het over {security.minutes_text(locked)} opnieuw."))
        async with self.db.session() as session:
            coach = (await session.execute(select(Coach).where(Coach.email == email, Coach.active.is_(True)))
                     ).scalar_one_or_none()
        good = await asyncio.to_thread(self._verify, coach.password_hash if coach and coach.password_hash
                                       else DUMMY_HASH, password)
        if coach is None or not good:
            async with self.db.transaction() as session:
                lockout = await security.record_failure(session, key, self.settings)
                service.audit(session, None, "login_failed", "coach", coach.id if coach else "-")
            log.warning("console login failed", extra={"locked_seconds": round(lockout)})
            await asyncio.sleep(self.settings.login_failure_delay)
            if lockout > 0:
                return self._login_form(request, email=email, status=429, error=(
                    f"Te vaak een verkeerd wachtwoord. Probeer het over {security.minutes_text(lockout)} opnieuw."))
            return self._login_form(request, email=email, status=401,
                                    error="Dit e-mailadres en wachtwoord horen niet bij elkaar. Probeer het opnieuw.")
        async with self.db.transaction() as session:
            await security.clear_failures(session, key)
            token = await security.start_session(session, coach.id, self.settings.session_hours)
            if coach.password_hash and hasher.check_needs_rehash(coach.password_hash):
                stored = await session.get(Coach, coach.id)
                if stored is not None:
                    stored.password_hash = await asyncio.to_thread(hasher.hash, password)
            service.audit(session, coach, "login", "coach", coach.id)
        target = _safe_next(str(form.get("next", ""))) or f"{PREFIX}/"
        response = RedirectResponse(target, status_code=303)
        self._set_cookie(response, security.SESSION_COOKIE, token, int(self.settings.session_hours * 3600))
        response.delete_cookie(security.PRE_COOKIE, path=PREFIX)
        return response

    @staticmethod
    def _verify(stored_hash: str, password: str) -> bool:
        """Tell whether a password matches an argon2 hash."""
        try:
            return bool(hasher.verify(stored_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def logout(self, request: Request) -> Response:
        """End the session and go back to the login page."""
        me = await self.require(request)
        await self.form(request)
        async with self.db.transaction() as session:
            await security.end_session(session, request.state.token)
            service.audit(session, me, "logout", "coach", me.id)
        response = RedirectResponse(f"{PREFIX}/login?melding=uitgelogd", status_code=303)
        response.delete_cookie(security.SESSION_COOKIE, path=PREFIX)
        return response

    async def password_page(self, request: Request) -> Response:
        """Show the form to change one's password."""
        await self.require(request)
        return self.render(request, "password.html", {"title": "Wachtwoord wijzigen", "errors": []})

    async def change_password(self, request: Request) -> Response:
        """Change one's password after checking the current one; other sessions end."""
        me = await self.require(request)
        form = await self.form(request)
        current, new, repeat = (str(form.get(k, ""))[:1024] for k in ("current", "new", "repeat"))
        errors: list[str] = []
        if not await asyncio.to_thread(self._verify, me.password_hash or DUMMY_HASH, current):
            errors.append("Je huidige wachtwoord klopt niet.")
        if len(new) < MIN_PASSWORD:
            errors.append(f"Kies een nieuw wachtwoord van minstens {MIN_PASSWORD} tekens.")
        if new != repeat:
            errors.append("De twee nieuwe wachtwoorden zijn niet gelijk.")
        if new and new == current:
            errors.append("Kies een ander wachtwoord dan je huidige.")
        if errors:
            return self.render(request, "password.html", {"title": "Wachtwoord wijzigen", "errors": errors},
                               status=400)
        new_hash = await asyncio.to_thread(hasher.hash, new)
        async with self.db.transaction() as session:
            stored = await session.get(Coach, me.id)
            assert stored is not None
            stored.password_hash = new_hash
            await security.end_other_sessions(session, me.id, request.state.token)
            service.audit(session, me, "password_changed", "coach", me.id)
        return RedirectResponse(f"{PREFIX}/wachtwoord?melding=wachtwoord", status_code=303)

    # --- inbox and live updates -----------------------------------------------------------------------

    async def _inbox_values(self, me: Coach) -> dict[str, Any]:
        """Return the inbox rows and the safety texts crisis tickets refer to."""
        async with self.db.session() as session:
            rows = await service.inbox(session, me, self.settings)
            stamp = await service.inbox_stamp(session, me)
            open_count = await service.open_ticket_count(session, me)
        safety = {lang: self.runtime.texts.get(lang, "crisis") for lang in {r.language for r in rows
                                                                          if r.kind == "crisis"}}
        return {"rows": rows, "safety": safety, "open_count": open_count, "inbox_stamp": stamp}

    async def inbox_page(self, request: Request) -> Response:
        """Show the open tickets, most urgent first; the list refreshes itself."""
        me = await self.require(request, "chats")
        return self.render(request, "inbox.html", {"title": "Inbox", **await self._inbox_values(me)})

    async def inbox_fragment(self, request: Request) -> Response:
        """Return just the ticket list, for the live refresh."""
        me = await self.require(request, "chats")
        return self.render(request, "_inbox_list.html", await self._inbox_values(me))

    async def events(self, request: Request) -> Response:
        """Stream "inbox" and "ticket" events whenever the inbox or the open conversation changes."""
        me = await self.require(request, "chats")
        token = request.state.token
        ticket_id = _int(request.query_params.get("ticket"))
        conversation_id: int | None = None
        if ticket_id is not None:
            async with self.db.session() as session:
                view = await service.load_ticket(session, me, ticket_id)
            if view is None:
                raise HTTPException(404)
            conversation_id = view.conversation.id

        seen_inbox = request.query_params.get("inbox", "")[:32]
        seen_ticket = request.query_params.get("stamp", "")[:32]

        async def stream() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            # The page says what it showed, so a change between rendering and connecting is not missed.
            last: tuple[str, str | None] | None = (seen_inbox or "", seen_ticket or None) \
                if (seen_inbox or seen_ticket) else None
            ready = False
            while not await request.is_disconnected():
                async with self.db.session() as session:
                    if await security.find_session(session, token) is None:
                        yield "event: logout\ndata: {}\n\n"
                        return
                    inbox = await service.inbox_stamp(session, me)
                    conv = (await service.conversation_stamp(session, conversation_id, ticket_id)
                            if conversation_id is not None else None)
                if not ready:
                    ready = True
                    yield "event: ready\ndata: {}\n\n"
                if last is not None:
                    if inbox != last[0] and (seen_inbox or conversation_id is None):
                        yield "event: inbox\ndata: {}\n\n"
                    if conv != last[1]:
                        yield f"event: ticket\ndata: {{\"ticket\": {ticket_id}}}\n\n"
                last = (inbox, conv)
                await self.hub.wait(self.settings.events_poll_seconds)
                yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # --- ticket and conversation pages ---------------------------------------------------------------

    async def _ticket_or_404(self, session: Any, me: Coach, ticket_id: int, *, lock: bool = False
                             ) -> service.TicketView:
        """Return a ticket the coach may see; 404 otherwise (never say whether it exists)."""
        view = await service.load_ticket(session, me, ticket_id, lock=lock)
        if view is None:
            raise HTTPException(404)
        return view

    async def _conversation_values(self, session: Any, conversation_id: int, before: int | None
                                   ) -> dict[str, Any]:
        """Return one page of history and the link to older messages."""
        items, more = await service.history(session, conversation_id, before=before,
                                            page_size=self.settings.history_page_size)
        return {"history": items, "older": items[0].id if more and items else None}

    async def _ticket_values(self, request: Request, me: Coach, ticket_id: int, *, audit_view: bool
                             ) -> dict[str, Any]:
        """Return what the ticket page shows, writing the view to the audit log when asked."""
        before = _int(request.query_params.get("voor"))
        async with self.db.transaction() as session:
            view = await self._ticket_or_404(session, me, ticket_id)
            values = await self._conversation_values(session, view.conversation.id, before)
            if audit_view:
                service.audit(session, me, "ticket_viewed", "ticket", ticket_id,
                              {"jongere_id": view.jongere.id})
            note_list = await service.notes(session, view.jongere.id, limit=20)
            stamp = await service.conversation_stamp(session, view.conversation.id, ticket_id)
        now = utcnow()
        return {"view": view, "ticket": view.ticket, "jongere_name": service.jongere_label(
                    view.jongere.id, view.jongere.display_name),
                "kind_name": service.KIND_NAMES.get(view.ticket.kind, view.ticket.kind),
                "state_name": service.STATE_NAMES.get(view.ticket.state, view.ticket.state),
                "channel_name": service.CHANNEL_NAMES.get(view.identity.channel, view.identity.channel),
                "template_needed": service.outbox_kind(view.identity, now) != "reply",
                "sla": sla_status(view.ticket.kind, view.ticket.created_at, view.ticket.first_response_at,
                                          now, self.settings),
                "safety": self.runtime.texts.get(view.jongere.language or "nl", "crisis")
                if view.ticket.kind == "crisis" else None,
                "notes": note_list, "form_id": secrets.token_urlsafe(16), "ticket_stamp": stamp,
                "mine": view.ticket.assigned_coach_id == me.id,
                **values}

    async def ticket_page(self, request: Request) -> Response:
        """Show a ticket: the conversation, the composer, notes and the actions."""
        me = await self.require(request, "chats")
        values = await self._ticket_values(request, me, request.path_params["ticket_id"], audit_view=True)
        async with self.db.session() as session:  # the team's standaardantwoorden; "Gebruik" works without JS
            team = await snippets_mod.team_of_jongere(session, values["view"].jongere.id)
            team_snippets = await snippets_mod.team_snippets(session, team)
        chosen = _int(request.query_params.get("standaardantwoord"))
        draft = next((s.text for s in team_snippets if s.id == chosen), None)
        return self.render(request, "ticket.html", {"title": f"{values['kind_name']} – {values['jongere_name']}",
                                                    **values, "snippets": team_snippets, "chosen_snippet": chosen,
                                                    **({"draft": draft} if draft is not None else {})})

    async def ticket_fragment(self, request: Request) -> Response:
        """Return just the conversation and its status, for the live refresh."""
        me = await self.require(request, "chats")
        values = await self._ticket_values(request, me, request.path_params["ticket_id"], audit_view=False)
        return self.render(request, "_ticket_live.html", values)

    async def conversation_page(self, request: Request) -> Response:
        """Show the whole history of one conversation (read only)."""
        me = await self.require(request, "chats")
        conversation_id = request.path_params["conversation_id"]
        async with self.db.transaction() as session:
            found = await service.load_conversation(session, me, conversation_id)
            if found is None:
                raise HTTPException(404)
            conversation, identity, jongere = found
            values = await self._conversation_values(session, conversation_id, _int(request.query_params.get("voor")))
            service.audit(session, me, "conversation_viewed", "conversation", conversation_id,
                          {"jongere_id": jongere.id})
        return self.render(request, "conversation.html", {
            "title": "Gesprek", "conversation": conversation, "identity": identity, "jongere": jongere,
            "jongere_name": service.jongere_label(jongere.id, jongere.display_name),
            "channel_name": service.CHANNEL_NAMES.get(identity.channel, identity.channel), **values})

    async def _after_action(self, ticket_id: int, notice: str) -> Response:
        """Go back to the ticket page with a notice (post/redirect/get)."""
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?melding={notice}#antwoord", status_code=303)

    async def _stale(self, request: Request, me: Coach, ticket_id: int, text: str = "") -> Response:
        """Show the ticket again with a clear notice that a colleague closed it; nothing was sent."""
        values = await self._ticket_values(request, me, ticket_id, audit_view=False)
        who = values["view"].handler.name if values["view"].handler else "een collega"
        notice = {"level": "fout", "text": f"Dit ticket is al gesloten door {who}. Je bericht is niet verstuurd. "
                                           "Je tekst staat hieronder nog, zodat je hem kunt bewaren."}
        return self.render(request, "ticket.html", {"title": "Ticket gesloten", **values, "notice": notice,
                                                    "draft": text}, status=409)

    async def pick_up(self, request: Request) -> Response:
        """Assign the ticket to me and take the chat over from the bot."""
        me = await self.require(request, "chats")
        await self.form(request)
        ticket_id = request.path_params["ticket_id"]
        async with self.db.transaction() as session:
            view = await self._ticket_or_404(session, me, ticket_id, lock=True)
            done = await service.pick_up(session, me, view)
        if not done:
            return await self._stale(request, me, ticket_id)
        self.hub.notify()
        return await self._after_action(ticket_id, "opgepakt")

    async def reply(self, request: Request) -> Response:
        """Store the coach's reply in the outbox on the jongere's own channel and wake the sender."""
        me = await self.require(request, "chats")
        form = await self.form(request)
        ticket_id = request.path_params["ticket_id"]
        text = str(form.get("text", "")).replace("\r\n", "\n").strip()
        form_id = str(form.get("form_id", ""))[:64] or secrets.token_urlsafe(16)
        if not text:
            return await self._after_action(ticket_id, "leeg")
        try:
            async with self.db.transaction() as session:
                view = await self._ticket_or_404(session, me, ticket_id, lock=True)
                await service.reply(session, me, view, text, form_id)
        except service.Stale:
            return await self._stale(request, me, ticket_id, text)
        except service.Duplicate:
            return await self._after_action(ticket_id, "dubbel")
        self.runtime.sender.wake(view.identity.channel)
        self.hub.notify()
        log.info("coach reply queued", extra={"ticket_id": ticket_id, "channel": view.identity.channel})
        return await self._after_action(ticket_id, "verstuurd")

    async def add_note(self, request: Request) -> Response:
        """Store a private note about the jongere of this ticket."""
        me = await self.require(request, "chats")
        form = await self.form(request)
        ticket_id = request.path_params["ticket_id"]
        text = str(form.get("text", "")).replace("\r\n", "\n").strip()
        if not text:
            return await self._after_action(ticket_id, "leeg")
        async with self.db.transaction() as session:
            view = await self._ticket_or_404(session, me, ticket_id)
            await service.add_note(session, me, view.jongere.id, ticket_id, text)
        return await self._after_action(ticket_id, "notitie")

    async def back_to_bot(self, request: Request) -> Response:
        """Close the ticket, hand the chat back to the bot and tell the jongere."""
        me = await self.require(request, "chats")
        await self.form(request)
        ticket_id = request.path_params["ticket_id"]
        try:
            async with self.db.transaction() as session:
                view = await self._ticket_or_404(session, me, ticket_id, lock=True)
                await service.back_to_bot(session, me, view, self.runtime.texts)
        except service.Stale:
            return await self._stale(request, me, ticket_id)
        self.runtime.sender.wake(view.identity.channel)
        self.hub.notify()
        return await self._after_action(ticket_id, "terug")

    # --- dossier ------------------------------------------------------------------------------------

    async def dossier_page(self, request: Request) -> Response:
        """Show a jongere's channels, reachability, consent, tickets and notes."""
        me = await self.require(request, "chats")
        jongere_id = request.path_params["jongere_id"]
        async with self.db.transaction() as session:
            jongere = await service.visible_jongere(session, me, jongere_id)
            if jongere is None:
                raise HTTPException(404)
            found = await service.dossier(session, jongere)
            link_values = await self._link_code_values(session, request, jongere.id)
            service.audit(session, me, "dossier_viewed", "jongere", jongere_id)
        return self.render(request, "dossier.html", {
            "title": f"Dossier {service.jongere_label(jongere.id, jongere.display_name)}", "d": found,
            "jongere_name": service.jongere_label(jongere.id, jongere.display_name),
            "kind_names": service.KIND_NAMES, "state_names": service.STATE_NAMES,
            "channel_names": service.CHANNEL_NAMES, **link_values})

    # --- content (redactie) --------------------------------------------------------------------------

    async def content_page(self, request: Request) -> Response:
        """List the FAQ answers and the questions the bot could not answer."""
        await self.require(request, "content")
        async with self.db.session() as session:
            _, faq = await load_all(session)
            unanswered = await list_unanswered(session, limit=20)
        return self.render(request, "content.html", {"title": "Inhoud", "faq": faq, "unanswered": unanswered})

    def _faq_form(self, entry: FaqEntry | None, form: FormData | None = None) -> dict[str, Any]:
        """Return the values of the FAQ form, from an entry or from what was posted."""
        if form is not None:
            return {"id": str(form.get("id", "")).strip(), "vragen": str(form.get("vragen", "")),
                    "antwoord_nl": str(form.get("antwoord_nl", "")), "antwoord_en": str(form.get("antwoord_en", "")),
                    "onderwerpen": [str(v) for v in form.getlist("onderwerpen")],
                    "kaart": str(form.get("kaart", ""))}
        if entry is None:
            return {"id": "", "vragen": "", "antwoord_nl": "", "antwoord_en": "", "onderwerpen": [], "kaart": ""}
        return {"id": entry.id, "vragen": "\n".join(entry.vragen), "antwoord_nl": entry.antwoord.nl,
                "antwoord_en": entry.antwoord.en, "onderwerpen": list(entry.onderwerpen),
                "kaart": ", ".join(entry.kaart)}

    async def faq_page(self, request: Request) -> Response:
        """Show the form to edit (or create) one FAQ answer."""
        await self.require(request, "content")
        faq_id = request.path_params["faq_id"]
        entry: FaqEntry | None = None
        if faq_id != "nieuw":
            async with self.db.session() as session:
                record = await session.get(FaqRecord, faq_id)
            if record is None:
                raise HTTPException(404)
            entry = FaqEntry.model_validate(record.data)
        return self.render(request, "faq_edit.html", {"title": "FAQ bewerken" if entry else "Nieuwe FAQ",
                                                      "new": entry is None, "f": self._faq_form(entry),
                                                      "topics": sorted(ONDERWERPEN), "errors": []})

    async def save_faq(self, request: Request) -> Response:
        """Validate and publish one FAQ answer; the bot picks it up within seconds."""
        me = await self.require(request, "content")
        form = await self.form(request)
        faq_id = request.path_params["faq_id"]
        values = self._faq_form(None, form)
        if faq_id != "nieuw":
            values["id"] = faq_id
        handled = [int(v) for v in form.getlist("afgehandeld") if isinstance(v, str) and v.isdigit()
                   and len(v) < 18][:50]
        errors: list[str] = []
        try:
            entry = FaqEntry.model_validate({
                "id": values["id"], "onderwerpen": values["onderwerpen"],
                "vragen": [v.strip() for v in values["vragen"].splitlines() if v.strip()],
                "antwoord": {"nl": values["antwoord_nl"], "en": values["antwoord_en"]},
                "kaart": [k.strip() for k in values["kaart"].split(",") if k.strip()],
                "last_checked": date.today()})
        except ValidationError as exc:
            errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        else:
            try:
                async with self.db.transaction() as session:
                    existing = await session.get(FaqRecord, entry.id)
                    if faq_id == "nieuw" and existing is not None:
                        raise ValueError(f"Er bestaat al een FAQ met de korte naam '{entry.id}'. Kies een andere.")
                    if faq_id != "nieuw" and existing is None:
                        raise HTTPException(404)
                    await save_faq_entry(session, entry, service.actor(me))
                    await delete_unanswered(session, handled)  # the questions this FAQ now answers
            except ValueError as exc:
                errors = [problem.text for problem in redactie.dutch_all(str(exc))]
        if errors:
            return self.render(request, "faq_edit.html", {"title": "FAQ bewerken", "new": faq_id == "nieuw",
                                                          "f": values, "topics": sorted(ONDERWERPEN),
                                                          "errors": errors, "handled": handled}, status=400)
        return RedirectResponse(f"{PREFIX}/inhoud/faq/{entry.id}?melding=opgeslagen", status_code=303)

    async def content_test(self, request: Request) -> Response:
        """Show what the bot would answer to a question (nothing is stored)."""
        await self.require(request, "content")
        from flows.kaart_answers import entry_title, search

        question = request.query_params.get("vraag", "").strip()[:500]
        age = _int(request.query_params.get("leeftijd"))
        result: dict[str, Any] | None = None
        if question:
            nlu = getattr(getattr(self.runtime, "dispatcher", None), "nlu", None)
            async with self.db.session() as session:
                offer = await search(session, question, age=age, nlu=nlu)
            sources = {"faq": "een FAQ-antwoord", "onderwerp": "plekken bij het onderwerp",
                       "naam": "plekken met deze naam", "none": "geen antwoord: de chatbot biedt een medewerker aan"}
            result = {"source": sources.get(offer.source, offer.source), "topics": list(offer.topics),
                      "faq": offer.faq, "score": round(offer.faq.score, 2) if offer.faq else None,
                      "entries": [entry_title(r.entry) for r in offer.ranked[:6]], "ask_age": offer.ask_age}
        return self.render(request, "content_test.html", {"title": "Vraag testen", "question": question,
                                                          "age": age, "result": result})

    # --- metrics ------------------------------------------------------------------------------------

    async def metrics_page(self, request: Request) -> Response:
        """Show open tickets by age, first-response times, new jongeren, questions and top kaart items."""
        me = await self.require(request, "metrics")
        async with self.db.session() as session:
            figures = await metrics_mod.collect(session, me)
        return self.render(request, "metrics.html", {
            "title": "Cijfers", "m": figures,
            "age_chart": Markup(metrics_mod.bar_chart(figures.open_by_age, "Open tickets per wachttijd")),
            "week_chart": Markup(metrics_mod.bar_chart(figures.week_bars(), "Nieuwe jongeren per week")),
            "question_charts": [(title, Markup(metrics_mod.bar_chart(figures.question_bars(key), f"Vragen {title}")))
                                for key, title in metrics_mod.OUTCOMES],
            "kaart_chart": Markup(metrics_mod.bar_chart(figures.top_kaart, "Meest getoonde kaart-items",
                                                        label_width=260)),
            "outcomes": metrics_mod.OUTCOMES, "channel_names": service.CHANNEL_NAMES})

    async def metrics_csv(self, request: Request) -> Response:
        """Download the figures as CSV."""
        me = await self.require(request, "metrics")
        async with self.db.session() as session:
            figures = await metrics_mod.collect(session, me)
        return Response(metrics_mod.to_csv(figures), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="cijfers.csv"'})

    # --- Telegram koppelen (link codes) ---------------------------------------------------------------
    # A begeleider makes a one-time code in the dossier; the jongere opens t.me/<bot>?start=<code> (or
    # sends "/start <code>"), and the bot connects that Telegram chat to this jongere (flows/linking.py).

    LINK_NOTICES: Final = {
        "telegram-code": ("ok", "Er is een Telegram-code gemaakt. Geef de link of de code aan de jongere."),
        "telegram-ingetrokken": ("ok", "De code is ingetrokken. Hij werkt niet meer."),
        "telegram-niet-open": ("info", "Deze code was al gebruikt, verlopen of ingetrokken."),
    }

    def _telegram_link(self, code: str) -> str | None:
        """Return the t.me deep link for a code, or None when no bot username is set."""
        from urllib.parse import quote

        username = self.runtime.settings.telegram_bot_username.strip().lstrip("@")
        return f"https://t.me/{quote(username, safe='')}?start={code}" if username else None

    async def _link_code_values(self, session: AsyncSession, request: Request, jongere_id: int) -> dict[str, Any]:
        """Return the dossier's open link codes (with link and maker) and this block's notice, if any."""
        codes = await link_codes.open_codes(session, jongere_id)
        makers: dict[int, str] = {}
        if codes:
            makers = {cid: name for cid, name in (await session.execute(select(Coach.id, Coach.name).where(
                Coach.id.in_({c.created_by for c in codes})))).all()}
        newest = _int(request.query_params.get("code"))
        values: dict[str, Any] = {"link_codes": [
            {"id": c.id, "code": c.code, "link": self._telegram_link(c.code), "expires_at": c.expires_at,
             "created_at": c.created_at, "maker": makers.get(c.created_by, "een collega"), "new": c.id == newest}
            for c in codes]}
        found = self.LINK_NOTICES.get(request.query_params.get("melding") or "")
        if found is not None:
            values["notice"] = {"level": found[0], "text": found[1]}
        return values

    async def issue_link_code(self, request: Request) -> Response:
        """Make a one-time code that connects a Telegram chat to this jongere; back to the dossier."""
        me = await self.require(request, "chats")
        await self.form(request)
        jongere_id = request.path_params["jongere_id"]
        async with self.db.transaction() as session:
            if await service.visible_jongere(session, me, jongere_id) is None:
                raise HTTPException(404)
            link = await link_codes.issue_code(session, jongere_id, me.id)
        log.info("link code issued", extra={"jongere_id": jongere_id, "link_code_id": link.id})
        return RedirectResponse(f"{PREFIX}/jongeren/{jongere_id}?melding=telegram-code&code={link.id}#telegram",
                                status_code=303)

    async def revoke_link_code(self, request: Request) -> Response:
        """End an open code of this jongere at once; back to the dossier."""
        me = await self.require(request, "chats")
        await self.form(request)
        jongere_id, code_id = request.path_params["jongere_id"], request.path_params["code_id"]
        async with self.db.transaction() as session:
            if await service.visible_jongere(session, me, jongere_id) is None:
                raise HTTPException(404)
            done = await link_codes.revoke_code(session, jongere_id, code_id, me.id)
        notice = "telegram-ingetrokken" if done else "telegram-niet-open"
        return RedirectResponse(f"{PREFIX}/jongeren/{jongere_id}?melding={notice}#telegram", status_code=303)

    # --- end Telegram koppelen ------------------------------------------------------------------------


def console_routes(runtime: ConsoleRuntime, settings: ConsoleSettings | None = None) -> list[BaseRoute]:
    """Return the routes that put the console under /console; the bot then promises answer times."""
    console = Console(runtime, settings)
    norm = console.settings
    handoff.set_deadline_source(lambda kind, opened: answer_deadline(kind, opened, norm))

    async def bare(request: Request) -> Response:
        """Send /console to /console/."""
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    return [Route(PREFIX, bare), Mount(PREFIX, app=console.app())]

