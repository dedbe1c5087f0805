"""Who may see what: roles per part of the console, and the team a jongere belongs to.

The team routing lives in `jongere_team` alone, so it can grow (e.g. by postcode or age group)
without touching the pages that use it.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import aliased

from data.models import Coach, Jongere

DEFAULT_TEAM: Final = "team-1"
"""Jongeren without a vaste begeleider belong to this team."""

PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "chats": frozenset({"begeleider", "teamleider", "beheerder"}),  # inbox, tickets, dossiers: personal data
    "metrics": frozenset({"teamleider", "beheerder"}),
    "content": frozenset({"redacteur", "beheerder"}),
}
ALL_TEAMS: Final = frozenset({"beheerder"})
"""Roles that see the jongeren of every team."""

ROLE_NAMES: Final = {"begeleider": "Begeleider", "teamleider": "Teamleider", "redacteur": "Redacteur",
                     "beheerder": "Beheerder"}


def may(coach: Coach, permission: str) -> bool:
    """Tell whether a coach's role gives a permission."""
    return coach.role in PERMISSIONS.get(permission, frozenset())


def jongere_team() -> ColumnElement[str]:
    """Return the SQL expression for a jongere's team: their begeleider's team, else the default team.

    Use it in any query that selects from `Jongere`.
    """
    begeleider = aliased(Coach)
    team = select(begeleider.team).where(begeleider.id == Jongere.begeleider_id).correlate(Jongere) \
        .scalar_subquery()
    return func.coalesce(team, DEFAULT_TEAM)


def sees_jongere(coach: Coach) -> ColumnElement[bool]:
    """Return the condition on `Jongere` for the jongeren this coach may see."""
    if coach.role in ALL_TEAMS:
        return true()
    # The same as jongere_team() == coach.team, written so the database evaluates the team's
    # begeleiders once instead of once per row (the inbox filters thousands of tickets with it).
    in_team = Jongere.begeleider_id.in_(select(Coach.id).where(Coach.team == coach.team))
    if coach.team == DEFAULT_TEAM:
        return or_(Jongere.begeleider_id.is_(None), in_team)
    return in_team
