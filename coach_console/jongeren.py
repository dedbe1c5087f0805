"""The jongere list: search by name or channel address, filter by team, begeleider and open ticket.

Only jongeren the coach may see are listed (`sees_jongere`). A search is written to the audit log
with its filters, but never with the search text itself (it may be a phone number): only its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from coach_console import service
from coach_console.access import ALL_TEAMS, jongere_team, sees_jongere
from data.models import ChannelIdentity, Coach, Jongere, Ticket
from data.records import OPEN_STATES

if TYPE_CHECKING:
    from coach_console.app import Console

PAGE_SIZE: Final = 50
MAX_QUERY: Final = 120
TEAM_ROLES: Final = frozenset({"teamleider", "beheerder"})
"""Roles that may filter the list by team."""


@dataclass(frozen=True)
class Filters:
    """What the coach asked for; every field is optional."""

    text: str = ""
    team: str = ""
    begeleider_id: int | None = None
    open_ticket: str = ""  # "ja" | "nee" | ""
    page: int = 1

    def active(self) -> bool:
        """Tell whether anything narrows the list."""
        return bool(self.text or self.team or self.begeleider_id is not None or self.open_ticket)

    def query_string(self, page: int) -> str:
        """Return the URL query for these filters on another page."""
        values = {"zoek": self.text, "team": self.team,
                  "begeleider": str(self.begeleider_id) if self.begeleider_id is not None else "",
                  "open": self.open_ticket, "pagina": str(page)}
        return urlencode({k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class JongereRow:
    """One jongere as the list shows them."""

    id: int
    name: str
    team: str
    begeleider: str | None
    channels: list[str]
    last_contact: datetime | None
    open_tickets: int


def _positive(value: str | None) -> int | None:
    """Return a positive int from a query value, or None."""
    return int(value) if value and value.isdigit() and len(value) < 10 and int(value) > 0 else None


def read_filters(request: Request, coach: Coach) -> Filters:
    """Read the filters from the query string; a team filter only for teamleider and beheerder."""
    params = request.query_params
    open_ticket = params.get("open", "")
    return Filters(text=params.get("zoek", "").strip()[:MAX_QUERY],
                   team=params.get("team", "").strip()[:80] if coach.role in TEAM_ROLES else "",
                   begeleider_id=_positive(params.get("begeleider")),
                   open_ticket=open_ticket if open_ticket in ("ja", "nee") else "",
                   page=_positive(params.get("pagina")) or 1)


def _has_open_ticket() -> Any:
    """Return the condition that a jongere has an open ticket."""
    return exists().where(Ticket.jongere_id == Jongere.id, Ticket.state.in_(OPEN_STATES))


async def search_jongeren(session: AsyncSession, coach: Coach, filters: Filters
                          ) -> tuple[list[JongereRow], int]:
    """Return one page of the jongeren this coach may see that match, newest contact first, and the total."""
    conditions: list[Any] = [sees_jongere(coach)]
    if filters.text:
        needle = filters.text.lower()
        by_address = exists().where(ChannelIdentity.jongere_id == Jongere.id,
                                    func.lower(ChannelIdentity.address).contains(needle, autoescape=True))
        conditions.append(func.lower(func.coalesce(Jongere.display_name, "")).contains(needle, autoescape=True)
                          | by_address)
    if filters.team:
        conditions.append(jongere_team() == filters.team)
    if filters.begeleider_id is not None:
        conditions.append(Jongere.begeleider_id == filters.begeleider_id)
    if filters.open_ticket == "ja":
        conditions.append(_has_open_ticket())
    elif filters.open_ticket == "nee":
        conditions.append(~_has_open_ticket())
    total = int((await session.execute(select(func.count(Jongere.id)).where(*conditions))).scalar_one())
    last_contact = (select(func.max(ChannelIdentity.last_inbound_at))
                    .where(ChannelIdentity.jongere_id == Jongere.id).correlate(Jongere).scalar_subquery())
    contact = func.coalesce(last_contact, Jongere.created_at)
    open_count = (select(func.count(Ticket.id)).where(Ticket.jongere_id == Jongere.id,
                                                      Ticket.state.in_(OPEN_STATES))
                  .correlate(Jongere).scalar_subquery())
    rows = (await session.execute(
        select(Jongere.id, Jongere.display_name, jongere_team(), Coach.name, last_contact, open_count)
        .outerjoin(Coach, Coach.id == Jongere.begeleider_id)
        .where(*conditions)
        .order_by(contact.desc(), Jongere.id.desc())
        .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE))).all()
    channels: dict[int, list[str]] = {}
    if rows:
        for jongere_id, channel in (await session.execute(
                select(ChannelIdentity.jongere_id, ChannelIdentity.channel)
                .where(ChannelIdentity.jongere_id.in_([r[0] for r in rows]))
                .order_by(ChannelIdentity.id))).all():
            name = service.CHANNEL_NAMES.get(channel, channel)
            if name not in channels.setdefault(jongere_id, []):
                channels[jongere_id].append(name)
    return [JongereRow(id=jid, name=service.jongere_label(jid, display_name), team=team, begeleider=begeleider,
                       channels=channels.get(jid, []), last_contact=contact_at, open_tickets=int(opened or 0))
            for jid, display_name, team, begeleider, contact_at, opened in rows], total


async def filter_options(session: AsyncSession, coach: Coach) -> tuple[list[str], list[tuple[int, str]]]:
    """Return the teams and the begeleiders this coach may filter on."""
    coaches = select(Coach.id, Coach.name, Coach.team).where(
        Coach.active.is_(True), Coach.role.in_(("begeleider", "teamleider")))
    if coach.role not in ALL_TEAMS:
        coaches = coaches.where(Coach.team == coach.team)
    found = (await session.execute(coaches.order_by(Coach.name, Coach.id))).all()
    teams = sorted({team for _, _, team in found} | {coach.team}) if coach.role in ALL_TEAMS else [coach.team]
    return teams, [(cid, name) for cid, name, _ in found]


class JongerenPages:
    """The handlers of the jongere list."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[BaseRoute]:
        """Return the routes of the jongere list, relative to /console."""
        return [Route("/jongeren", self.list_page, methods=["GET"])]

    async def list_page(self, request: Request) -> Response:
        """Show the jongeren this coach may see, searched and filtered, 50 per page."""
        me = await self.console.require(request, "chats")
        filters = read_filters(request, me)
        async with self.console.db.transaction() as session:
            rows, total = await search_jongeren(session, me, filters)
            teams, begeleiders = await filter_options(session, me)
            if filters.active():
                service.audit(session, me, "jongeren_searched", "jongere", "-", {
                    "search_length": len(filters.text), "team": filters.team or None,
                    "begeleider_id": filters.begeleider_id, "open_ticket": filters.open_ticket or None,
                    "page": filters.page, "results": total})
        pages = max(1, -(-total // PAGE_SIZE))
        return self.console.render(request, "jongeren.html", {
            "title": "Jongeren", "rows": rows, "total": total, "f": filters, "teams": teams,
            "begeleiders": begeleiders, "may_team": me.role in TEAM_ROLES, "page": filters.page, "pages": pages,
            "previous": filters.query_string(filters.page - 1) if filters.page > 1 else None,
            "next": filters.query_string(filters.page + 1) if filters.page < pages else None})
