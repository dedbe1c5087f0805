"""Console pages for the redactie: sociale kaart editing, version history with revert, unanswered questions.

All pages need the "content" permission (redacteur, beheerder) and show no personal data. Every
change goes through `data.content_store`, so it is audited (with the version it replaced) and the
bot picks it up within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from coach_console import redactie, service
from data.content import ONDERWERPEN, FaqEntry, KaartEntry
from data.content_store import (
    content_change,
    content_history,
    delete_unanswered,
    list_unanswered,
    load_all,
    save_faq_entry,
    save_kaart_entry,
    unanswered_by_ids,
)
from data.models import AuditLog, FaqRecord, KaartRecord
from nlu import extra_examples

if TYPE_CHECKING:
    from coach_console.app import Console

log = logging.getLogger(__name__)

PREFIX: Final = "/console"
KINDS: Final = {"faq": (FaqRecord, FaqEntry, "FAQ"), "kaart": (KaartRecord, KaartEntry, "plek op de sociale kaart")}
MAX_IDS: Final = 50

NOTICES: Final = {
    "opgeslagen": ("ok", "Opgeslagen en gepubliceerd. De chatbot gebruikt de nieuwe tekst binnen een paar seconden."),
    "teruggezet": ("ok", "De vorige versie staat terug en is gepubliceerd. Ook dit staat in de geschiedenis."),
    "voorbeeld": ("ok", "Toegevoegd als voorbeeld. De chatbot leert het bij de volgende herstart. "
                        "De vragen staan niet meer in de lijst."),
    "weg": ("ok", "De vragen staan niet meer in de lijst."),
    "faq": ("ok", "De FAQ is gepubliceerd. De vragen staan niet meer in de lijst."),
}


class _Refused(Exception):
    """A save was refused; the problems say why (the transaction rolls back)."""

    def __init__(self, problems: list[redactie.Problem], change: AuditLog, previous: dict[str, Any]) -> None:
        super().__init__("refused")
        self.problems, self.change, self.previous = problems, change, previous


def _ids(values: list[str]) -> list[int]:
    """Return the positive integer ids among posted or queried values (at most MAX_IDS)."""
    return [int(v) for v in values if v.isdigit() and len(v) < 18][:MAX_IDS]


class ContentPages:
    """The redactie's pages, using the console's login, CSRF check and rendering."""

    def __init__(self, console: Console, extra_file: Path | None = None) -> None:
        self.console = console
        self.db = console.db
        configured = console.settings.extra_examples_file
        self.extra_file = extra_file or (Path(configured) if configured else extra_examples.EXTRA_FILE)

    def routes(self) -> list[BaseRoute]:
        """Return the routes of these pages, relative to /console."""
        routes: list[BaseRoute] = [
            Route("/inhoud/kaart", self.kaart_list, methods=["GET"]),
            Route("/inhoud/kaart/{entry_id}", self.kaart_page, methods=["GET"]),
            Route("/inhoud/kaart/{entry_id}", self.save_kaart, methods=["POST"]),
            Route("/inhoud/onbeantwoord", self.unanswered_page, methods=["GET"]),
            Route("/inhoud/onbeantwoord/faq", self.unanswered_to_faq, methods=["GET"]),
            Route("/inhoud/onbeantwoord/voorbeeld", self.unanswered_to_example, methods=["POST"]),
            Route("/inhoud/onbeantwoord/afgehandeld", self.unanswered_done, methods=["POST"]),
        ]
        for kind in KINDS:
            routes += [
                Route(f"/inhoud/{kind}/{{entry_id}}/versies", self._bind(self.history_page, kind), methods=["GET"]),
                Route(f"/inhoud/{kind}/{{entry_id}}/versies/{{change_id:int}}", self._bind(self.version_page, kind),
                      methods=["GET"]),
                Route(f"/inhoud/{kind}/{{entry_id}}/versies/{{change_id:int}}/terugzetten",
                      self._bind(self.revert, kind), methods=["POST"]),
            ]
        return routes

    @staticmethod
    def _bind(handler: Callable[[Request, str], Awaitable[Response]], kind: str
              ) -> Callable[[Request], Awaitable[Response]]:
        """Return a request handler for one kind of content."""
        async def endpoint(request: Request) -> Response:
            return await handler(request, kind)
        endpoint.__doc__ = handler.__doc__
        return endpoint

    async def _intents(self) -> list[str]:
        """Return the intents an example may be added to (read from the training data once)."""
        return await asyncio.to_thread(extra_examples.known_intents, extra_examples.EXTRA_FILE.parent, self.extra_file)

    def _notice(self, request: Request) -> dict[str, str] | None:
        """Return the notice named in the URL, if it is one of ours."""
        key = request.query_params.get("melding", "")
        if key in NOTICES:
            level, text = NOTICES[key]
            return {"level": level, "text": text}
        return None

    # --- sociale kaart -------------------------------------------------------------------------------

    async def kaart_list(self, request: Request) -> Response:
        """List the sociale kaart, filtered by onderwerp, with entries to check or to complete flagged."""
        await self.console.require(request, "content")
        topic = request.query_params.get("onderwerp", "")
        topic = topic if topic in ONDERWERPEN else ""
        only = request.query_params.get("alleen", "")
        async with self.db.session() as session:
            kaart, _ = await load_all(session)
        today = date.today()
        rows: list[dict[str, Any]] = [
            {"entry": e, "check": redactie.needs_check(e, today), "complete": e.contact_aanvullen}
            for e in kaart if not topic or topic in e.onderwerpen]
        counts = {"controleren": sum(1 for r in rows if r["check"]),
                  "aanvullen": sum(1 for r in rows if r["complete"])}
        if only == "controleren":
            rows = [r for r in rows if r["check"]]
        elif only == "aanvullen":
            rows = [r for r in rows if r["complete"]]
        else:
            only = ""
        return self.console.render(request, "kaart_list.html", {
            "title": "Sociale kaart", "rows": rows, "topics": sorted(ONDERWERPEN), "topic": topic, "only": only,
            "counts": counts, "total": len(kaart), "months": redactie.CHECK_AFTER_MONTHS,
            "notice": self._notice(request)})

    async def _kaart_record(self, entry_id: str) -> KaartRecord:
        """Return a kaart row, or 404."""
        async with self.db.session() as session:
            record = await session.get(KaartRecord, entry_id)
        if record is None:
            raise HTTPException(404)
        return record

    def _kaart_form(self, request: Request, values: dict[str, Any], *, new: bool,
                    problems: list[redactie.Problem] | None = None, status: int = 200,
                    notice: dict[str, str] | None = None) -> Response:
        """Render the kaart form with its values and problems."""
        problems = problems or []
        by_field: dict[str, list[str]] = {}
        for problem in problems:
            by_field.setdefault(problem.field, []).append(problem.text)
        title = "Nieuwe plek op de sociale kaart" if new else f"Sociale kaart: {values.get('naam') or values['id']}"
        return self.console.render(request, "kaart_edit.html", {
            "title": title, "new": new, "k": values, "topics": sorted(ONDERWERPEN), "problems": problems,
            "field_errors": by_field, "notice": notice or self._notice(request),
            "stale": bool(values.get("last_checked") and isinstance(values["last_checked"], date)
                          and values["last_checked"] < redactie.months_before(date.today(),
                                                                              redactie.CHECK_AFTER_MONTHS))},
            status=status)

    async def kaart_page(self, request: Request) -> Response:
        """Show the form to edit (or create) one place on the sociale kaart."""
        await self.console.require(request, "content")
        entry_id = request.path_params["entry_id"]
        if entry_id == "nieuw":
            return self._kaart_form(request, redactie.kaart_values(None), new=True)
        record = await self._kaart_record(entry_id)
        try:
            entry = KaartEntry.model_validate(record.data)
        except ValidationError as exc:
            raise HTTPException(404) from exc
        values = redactie.kaart_values(entry)
        values["sinds"] = record.updated_at.isoformat()
        return self._kaart_form(request, values, new=False)

    async def save_kaart(self, request: Request) -> Response:
        """Validate and publish one kaart entry; answer with the form and Dutch messages when it is not right."""
        me = await self.console.require(request, "content")
        form = await self.console.form(request)
        entry_id = request.path_params["entry_id"]
        new = entry_id == "nieuw"
        values = redactie.kaart_values_from(form)
        previous: KaartEntry | None = None
        if not new:
            record = await self._kaart_record(entry_id)
            values["id"] = entry_id
            try:
                previous = KaartEntry.model_validate(record.data)
                values["last_checked"] = previous.last_checked
            except ValidationError:
                previous = None
        entry, problems = redactie.kaart_entry_from(values, previous)
        if entry is not None and not problems:
            try:
                async with self.db.transaction() as session:
                    current = await session.get(KaartRecord, entry.id)
                    if new and current is not None:
                        problems = [redactie.Problem("id", f"Er bestaat al een plek met de korte naam "
                                                           f"'{entry.id}'. Kies een andere.")]
                    elif not new and current is None:
                        raise HTTPException(404)
                    elif not new and current is not None and values["sinds"] \
                            and current.updated_at.isoformat() != values["sinds"]:
                        who = (await redactie.actor_names(session, [current.updated_by])).get(
                            current.updated_by, current.updated_by)
                        return self._kaart_form(request, values, new=False, status=409, notice={
                            "level": "fout", "text": f"Niet opgeslagen: {who} heeft deze plek intussen gewijzigd. "
                                                     "Open de pagina opnieuw en voer je wijziging nog eens in. "
                                                     "Je tekst staat hieronder nog."})
                    else:
                        await save_kaart_entry(session, entry, service.actor(me))
            except ValueError as exc:
                problems = redactie.dutch_all(str(exc))
        if problems or entry is None:
            return self._kaart_form(request, values, new=new, problems=problems, status=400)
        return RedirectResponse(f"{PREFIX}/inhoud/kaart/{entry.id}?melding=opgeslagen", status_code=303)

    # --- version history and revert -------------------------------------------------------------------

    async def _current(self, session: Any, kind: str, entry_id: str) -> dict[str, Any] | None:
        """Return the stored data of an entry, or None when it does not exist (any more)."""
        record = await session.get(KINDS[kind][0], entry_id)
        return dict(record.data) if record is not None else None

    async def history_page(self, request: Request, kind: str) -> Response:
        """List who changed an entry and when, newest first, with links to the versions before."""
        await self.console.require(request, "content")
        entry_id = request.path_params["entry_id"]
        async with self.db.session() as session:
            current = await self._current(session, kind, entry_id)
            rows = await content_history(session, kind, entry_id)
            names = await redactie.actor_names(session, [r.actor for r in rows])
        if current is None and not rows:
            raise HTTPException(404)
        return self.console.render(request, "versions.html", {
            "title": f"Geschiedenis van {entry_id}", "kind": kind, "kind_name": KINDS[kind][2],
            "entry_id": entry_id, "exists": current is not None, "changes": redactie.to_changes(rows, names),
            "notice": self._notice(request)})

    async def version_page(self, request: Request, kind: str) -> Response:
        """Show the version an audited change replaced, next to the current one."""
        await self.console.require(request, "content")
        entry_id, change_id = request.path_params["entry_id"], request.path_params["change_id"]
        async with self.db.session() as session:
            row = await content_change(session, kind, entry_id, change_id)
            if row is None:
                raise HTTPException(404)
            current = await self._current(session, kind, entry_id)
            names = await redactie.actor_names(session, [row.actor])
        change = redactie.to_changes([row], names)[0]
        if change.previous is None:
            raise HTTPException(404)
        return self.console.render(request, "version.html", {
            "title": f"Vorige versie van {entry_id}", "kind": kind, "kind_name": KINDS[kind][2],
            "entry_id": entry_id, "change": change, "rows": redactie.compare(change.previous, current),
            "same": current == change.previous, "errors": []})

    async def revert(self, request: Request, kind: str) -> Response:
        """Restore the version an audited change replaced, through the normal save (so it is audited too)."""
        me = await self.console.require(request, "content")
        await self.console.form(request)
        entry_id, change_id = request.path_params["entry_id"], request.path_params["change_id"]
        try:
            async with self.db.transaction() as session:
                row = await content_change(session, kind, entry_id, change_id)
                previous = (row.detail or {}).get("previous") if row is not None else None
                if row is None or not isinstance(previous, dict):
                    raise HTTPException(404)
                extra = {"reverted_from": change_id}
                try:
                    if kind == "faq":
                        await save_faq_entry(session, FaqEntry.model_validate(previous), service.actor(me), extra)
                    else:
                        await save_kaart_entry(session, KaartEntry.model_validate(previous), service.actor(me),
                                               extra)
                except ValidationError as exc:
                    raise _Refused([redactie.Problem("", "Deze oude versie past niet bij de huidige regels en kan "
                                                         "niet worden teruggezet. Pas de tekst met de hand aan.")]
                                   , row, previous) from exc
                except ValueError as exc:
                    raise _Refused(redactie.dutch_all(str(exc)), row, previous) from exc
        except _Refused as refused:
            async with self.db.session() as session:
                current = await self._current(session, kind, entry_id)
                names = await redactie.actor_names(session, [refused.change.actor])
            change = redactie.to_changes([refused.change], names)[0]
            return self.console.render(request, "version.html", {
                "title": f"Vorige versie van {entry_id}", "kind": kind, "kind_name": KINDS[kind][2],
                "entry_id": entry_id, "change": change, "rows": redactie.compare(refused.previous, current),
                "same": current == refused.previous, "errors": refused.problems}, status=400)
        return RedirectResponse(f"{PREFIX}/inhoud/{kind}/{entry_id}/versies?melding=teruggezet", status_code=303)

    # --- unanswered questions -------------------------------------------------------------------------

    async def unanswered_page(self, request: Request) -> Response:
        """Show the questions the bot could not answer, grouped by similarity, with what to do about them."""
        await self.console.require(request, "content")
        async with self.db.session() as session:
            questions = await list_unanswered(session, limit=300)
        groups = redactie.group_questions(questions)
        return self.console.render(request, "unanswered.html", {
            "title": "Vragen zonder antwoord", "groups": groups,
            "intents": await self._intents(), "notice": self._notice(request)})

    async def unanswered_to_faq(self, request: Request) -> Response:
        """Open the new-FAQ form with the grouped questions as its phrasings."""
        await self.console.require(request, "content")
        ids = _ids(request.query_params.getlist("vraag"))
        async with self.db.session() as session:
            questions = await unanswered_by_ids(session, ids)
        if not questions:
            raise HTTPException(404)
        values = {"id": "", "vragen": "\n".join(q.text for q in questions), "antwoord_nl": "", "antwoord_en": "",
                  "onderwerpen": [], "kaart": ""}
        return self.console.render(request, "faq_edit.html", {
            "title": "Nieuwe FAQ", "new": True, "f": values, "topics": sorted(ONDERWERPEN), "errors": [],
            "handled": [q.id for q in questions]})

    async def unanswered_to_example(self, request: Request) -> Response:
        """Add the questions as training examples of an intent (live after the next start) and take them off."""
        await self.console.require(request, "content")
        form = await self.console.form(request)
        ids = _ids([str(v) for v in form.getlist("vraag")])
        intent = str(form.get("intent", ""))
        async with self.db.session() as session:
            questions = await unanswered_by_ids(session, ids)
        if not questions:
            raise HTTPException(404)
        if intent not in await self._intents():
            return await self._unanswered_error(request, "Kies een bedoeling (intent) uit de lijst.")
        added, skipped = 0, []
        for question in questions:
            try:
                await asyncio.to_thread(extra_examples.add_example, intent, question.text, self.extra_file)
                added += 1
            except extra_examples.ExampleExists as exc:
                skipped.append(f"'{exc.text}' is al een voorbeeld bij {exc.intent}.")
            except ValueError:
                skipped.append(f"'{question.text}' heeft geen bruikbare tekst.")
        async with self.db.transaction() as session:
            await delete_unanswered(session, [q.id for q in questions])
        log.info("unanswered questions added as examples", extra={"intent": intent, "added": added})
        if skipped:
            notice = {"level": "info", "text": f"{added} voorbeeld(en) toegevoegd bij {intent}; de chatbot leert ze "
                                               "bij de volgende herstart. Niet toegevoegd: " + " ".join(skipped)}
            return await self._unanswered_error(request, "", notice=notice)
        return RedirectResponse(f"{PREFIX}/inhoud/onbeantwoord?melding=voorbeeld", status_code=303)

    async def _unanswered_error(self, request: Request, text: str, notice: dict[str, str] | None = None
                                ) -> Response:
        """Show the unanswered questions again with a message."""
        async with self.db.session() as session:
            questions = await list_unanswered(session, limit=300)
        return self.console.render(request, "unanswered.html", {
            "title": "Vragen zonder antwoord", "groups": redactie.group_questions(questions),
            "intents": await self._intents(),
            "notice": notice or {"level": "fout", "text": text}}, status=200 if notice else 400)

    async def unanswered_done(self, request: Request) -> Response:
        """Take questions off the list without doing anything with them."""
        await self.console.require(request, "content")
        form = await self.console.form(request)
        async with self.db.transaction() as session:
            removed = await delete_unanswered(session, _ids([str(v) for v in form.getlist("vraag")]))
        if not removed:
            raise HTTPException(404)
        return RedirectResponse(f"{PREFIX}/inhoud/onbeantwoord?melding=weg", status_code=303)

