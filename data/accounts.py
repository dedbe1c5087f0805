"""Staff accounts: create them with an argon2 password hash."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from data.models import AuditLog, Coach, utcnow

ROLES = ("begeleider", "teamleider", "redacteur", "beheerder")
hasher = PasswordHasher()


def new_password() -> str:
    """Return a random password that is easy to type once."""
    return secrets.token_urlsafe(12)


async def add_coach(session: AsyncSession, *, name: str, email: str, role: str, team: str = "team-1",
                    password: str | None = None) -> tuple[Coach, str]:
    """Create a staff account and return it with its password (shown once, stored only as a hash)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError("email must contain @")
    if (await session.execute(select(Coach.id).where(Coach.email == email))).first() is not None:
        raise ValueError("an account with this email exists already")
    password = password or new_password()
    coach = Coach(name=name.strip(), email=email, role=role, team=team, password_hash=hasher.hash(password),
                  active=True, created_at=utcnow())
    session.add(coach)
    await session.flush()
    session.add(AuditLog(actor="system", action="coach_created", subject_type="coach",
                         subject_id=str(coach.id), detail={"role": role}, at=utcnow()))
    return coach, password


async def has_any_coach(session: AsyncSession) -> bool:
    """Tell whether any staff account exists."""
    return (await session.execute(select(Coach.id).limit(1))).first() is not None
