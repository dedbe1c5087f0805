"""Standaardantwoorden: canned replies per team, kept by teamleider and beheerder, used by begeleiders.

Everyone with the "chats" permission sees the snippets of their own team (a beheerder those of every
team); only teamleider (own team) and beheerder (any team) add, change and delete them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from coach_console import service
from coach_console.access import ALL_TEAMS, jongere_team
from data.models import Coach, Jongere, Snippet, utcnow

if TYPE_CHECKING:
    from coach_console.app import Console

PREFIX: Final = "/console/standaardantwoorden"
MAX_TITLE: Final = 80
MAX_TEXT: Final = 2000
MAX_TEAM: Final = 80
EDIT_ROLES: Final = frozenset({"teamleider", "beheerder"})

NOTICES: Final = {
    "toegevoegd": ("ok", "Het standaardantwoord is toegevoegd."),
    "opgeslagen": ("ok", "Het standaardantwoord is opgeslagen."),
    "verwijderd": ("ok", "Het standaardantwoord is verwijderd."),
}


def may_edit(coach: Coach) -> bool:
    """Tell whether a coach may add, change and delete standaardantwoorden."""
    return coach.role in EDIT_ROLES


def _visible(coach: Coach) -> Any:
    """Return the condition on `Snippet` for the snippets this coach may see."""
    return true() if coach.role in ALL_TEAMS else Snippet.team == coach.team


async def list_snippets(session: AsyncSession, coach: Coach) -> list[Snippet]:
    """Return the snippets this coach may see, by team and title."""
    return list((await session.execute(select(Snippet).where(_visible(coach))
                                       .order_by(Snippet.team, Snippet.title, Snippet.id))).scalars().all())


async def team_snippets(session: AsyncSession, team: str) -> list[Snippet]:
    """Return the snippets of one team, by title."""
    return list((await session.execute(select(Snippet).where(Snippet.team == team)
                                       .order_by(Snippet.title, Snippet.id))).scalars().all())


async def team_of_jongere(session: AsyncSession, jongere_id: int) -> str:
    """Return the team a jongere belongs to."""
    return str((await session.execute(select(jongere_team()).where(Jongere.id == jongere_id))).scalar_one())


def validate(title: str, text: str, team: str) -> list[str]:
    """Return what is wrong with a snippet, in plain Dutch (empty when it is fine)."""
    errors: list[str] = []
    if not title:
        errors.append("Vul een titel in.")
    elif len(title) > MAX_TITLE:
        errors.append(f"De titel is te lang: maximaal {MAX_TITLE} tekens (nu {len(title)}).")
    if not text:
        errors.append("Vul de tekst van het antwoord in.")
    elif len(text) > MAX_TEXT:
        errors.append(f"De tekst is te lang: maximaal {MAX_TEXT} tekens (nu {len(text)}).")
    if not team or len(team) > MAX_TEAM:
        errors.append("Vul een team in.")
    return errors


class SnippetPages:
    """The handlers of the standaardantwoorden page."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[BaseRoute]:
        """Return the routes of the standaardantwoorden, relative to /console."""
        return [
            Route("/standaardantwoorden", self.list_page, methods=["GET"]),
            Route("/standaardantwoorden", self.add, methods=["POST"]),
            Route("/standaardantwoorden/{snippet_id:int}", self.edit_page, methods=["GET"]),
            Route("/standaardantwoorden/{snippet_id:int}", self.save, methods=["POST"]),
            Route("/standaardantwoorden/{snippet_id:int}/verwijderen", self.delete, methods=["POST"]),
        ]

    async def _editor(self, request: Request) -> Coach:
        """Return the signed-in coach when they may edit; 403 otherwise."""
        me = await self.console.require(request, "chats")
        if not may_edit(me):
            raise HTTPException(403, "Alleen een teamleider of beheerder kan standaardantwoorden wijzigen.")
        return me

    async def _page(self, request: Request, me: Coach, values: dict[str, Any], status: int = 200) -> Response:
        """Render the list with the form (empty, or with what was posted)."""
        async with self.console.db.session() as session:
            snippets = await list_snippets(session, me)
        found = NOTICES.get(request.query_params.get("melding") or "")
        if found is not None and "notice" not in values:
            values["notice"] = {"level": found[0], "text": found[1]}
        form = {"title": "", "text": "", "team": me.team, **values.pop("form", {})}
        return self.console.render(request, "snippets.html", {
            "title": "Standaardantwoorden", "snippets": snippets, "may_edit": may_edit(me),
            "may_team": me.role in ALL_TEAMS, "form": form, "errors": [], "editing": None,
            "max_title": MAX_TITLE, "max_text": MAX_TEXT, **values}, status=status)

    async def list_page(self, request: Request) -> Response:
        """List the standaardantwoorden, with the form to add one for those who may."""
        me = await self.console.require(request, "chats")
        return await self._page(request, me, {})

    def _posted(self, me: Coach, form: FormData, current_team: str | None = None) -> dict[str, str]:
        """Return the posted values; only a beheerder chooses the team."""
        team = str(form.get("team", "")).strip() if me.role in ALL_TEAMS else (current_team or me.team)
        return {"title": str(form.get("title", "")).strip(),
                "text": str(form.get("text", "")).replace("\r\n", "\n").strip(), "team": team}

    async def add(self, request: Request) -> Response:
        """Add a standaardantwoord, or show the form again with what is wrong."""
        me = await self._editor(request)
        form = await self.console.form(request)
        values = self._posted(me, form)
        errors = validate(values["title"], values["text"], values["team"])
        if errors:
            return await self._page(request, me, {"form": values, "errors": errors}, status=400)
        async with self.console.db.transaction() as session:
            snippet = Snippet(team=values["team"], title=values["title"], text=values["text"],
                              created_by=me.id, updated_at=utcnow())
            session.add(snippet)
            await session.flush()
            service.audit(session, me, "snippet_added", "snippet", snippet.id, {"team": snippet.team})
        return RedirectResponse(f"{PREFIX}?melding=toegevoegd", status_code=303)

    async def _own(self, session: AsyncSession, me: Coach, snippet_id: int) -> Snippet:
        """Return a snippet this coach may see; 404 otherwise."""
        snippet = (await session.execute(select(Snippet).where(Snippet.id == snippet_id, _visible(me)))
                   ).scalar_one_or_none()
        if snippet is None:
            raise HTTPException(404)
        return snippet

    async def edit_page(self, request: Request) -> Response:
        """Show the form to change one standaardantwoord."""
        me = await self._editor(request)
        async with self.console.db.session() as session:
            snippet = await self._own(session, me, request.path_params["snippet_id"])
        return await self._page(request, me, {"editing": snippet.id, "form": {
            "title": snippet.title, "text": snippet.text, "team": snippet.team}})

    async def save(self, request: Request) -> Response:
        """Change a standaardantwoord, or show the form again with what is wrong."""
        me = await self._editor(request)
        form = await self.console.form(request)
        snippet_id = request.path_params["snippet_id"]
        async with self.console.db.transaction() as session:
            snippet = await self._own(session, me, snippet_id)
            values = self._posted(me, form, snippet.team)
            errors = validate(values["title"], values["text"], values["team"])
            if not errors:
                snippet.title, snippet.text, snippet.team = values["title"], values["text"], values["team"]
                snippet.updated_at = utcnow()
                service.audit(session, me, "snippet_changed", "snippet", snippet.id, {"team": snippet.team})
        if errors:
            return await self._page(request, me, {"editing": snippet_id, "form": values, "errors": errors},
                                    status=400)
        return RedirectResponse(f"{PREFIX}?melding=opgeslagen", status_code=303)

    async def delete(self, request: Request) -> Response:
        """Delete a standaardantwoord."""
        me = await self._editor(request)
        await self.console.form(request)
        async with self.console.db.transaction() as session:
            snippet = await self._own(session, me, request.path_params["snippet_id"])
            service.audit(session, me, "snippet_deleted", "snippet", snippet.id, {"team": snippet.team})
            await session.delete(snippet)
        return RedirectResponse(f"{PREFIX}?melding=verwijderd", status_code=303)
