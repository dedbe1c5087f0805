"""Sessions, CSRF tokens and the login slow-down of the console.

Sessions live in the `console_session` table: the cookie holds a random token, the table its
sha256, so logging out or changing the password ends a session for real. CSRF tokens are an HMAC
of the session token (or, before login, of a random pre-login cookie) with the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from coach_console.config import ConsoleSettings
from data.models import Coach, ConsoleSession, LoginFailure, utcnow

SESSION_COOKIE = "jl_console"
PRE_COOKIE = "jl_pre"
COOKIE_PATH = "/console"


def load_secret_key(configured: str, var_dir: Path) -> bytes:
    """Return the configured secret key, or the one generated once into `var_dir/secret_key`."""
    if configured:
        return configured.encode("utf-8")
    path = var_dir / "secret_key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode("ascii")
    try:  # O_EXCL: when two workers start at once, one writes and both read the same key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def token_hash(token: str) -> str:
    """Return the sha256 hex of a session token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(secret: bytes, bound_to: str) -> str:
    """Return the CSRF token that belongs to a session (or pre-login) token."""
    return hmac.new(secret, f"csrf|{bound_to}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, bound_to: str | None, sent: str | None) -> bool:
    """Tell whether `sent` is the CSRF token of `bound_to`, in constant time."""
    if not bound_to or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret, bound_to), sent)


@dataclass
class SignedIn:
    """The coach behind a request and the token of their session."""

    coach: Coach
    token: str


async def start_session(session: AsyncSession, coach_id: int, hours: float) -> str:
    """Create a console session for a coach and return its token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(ConsoleSession(id=token_hash(token), coach_id=coach_id, created_at=now, last_seen_at=now,
                               expires_at=now + timedelta(hours=hours)))
    # Tidy up: expired sessions of anyone are of no use.
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    return token


async def find_session(session: AsyncSession, token: str | None) -> tuple[Coach, ConsoleSession] | None:
    """Return the active coach and session row behind a cookie token, or None."""
    if not token or len(token) > 200:
        return None
    row = (await session.execute(
        select(Coach, ConsoleSession).join(ConsoleSession, ConsoleSession.coach_id == Coach.id)
        .where(ConsoleSession.id == token_hash(token)))).one_or_none()
    if row is None:
        return None
    coach, stored = row
    if not coach.active or stored.expires_at <= utcnow():
        return None
    return coach, stored


async def end_session(session: AsyncSession, token: str) -> None:
    """Delete one session."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id == token_hash(token)))


async def end_other_sessions(session: AsyncSession, coach_id: int, keep_token: str) -> None:
    """Delete every session of a coach except the one in use (after a password change)."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.coach_id == coach_id,
                                                       ConsoleSession.id != token_hash(keep_token)))


def failure_key(email: str, ip: str) -> str:
    """Return the key of the failed-login counter for an e-mail address from an IP (a hash: no plain data)."""
    return hashlib.sha256(f"{email.strip().lower()}|{ip}".encode()).hexdigest()


async def locked_for(session: AsyncSession, key: str) -> float:
    """Return how many seconds logins for this key are still locked (0 when not)."""
    row = await session.get(LoginFailure, key)
    if row is None or row.locked_until is None:
        return 0.0
    return max(0.0, (row.locked_until - utcnow()).total_seconds())


async def record_failure(session: AsyncSession, key: str, settings: ConsoleSettings) -> float:
    """Count one failed login; return the lockout in seconds that starts now (0 when none)."""
    now = utcnow()
    row = await session.get(LoginFailure, key)
    if row is None:
        row = LoginFailure(key=key, failures=0, first_failed_at=now, last_failed_at=now)
        session.add(row)
    elif now - row.first_failed_at > timedelta(minutes=settings.login_window_minutes) and (
            row.locked_until is None or row.locked_until <= now - timedelta(minutes=settings.login_window_minutes)):
        row.failures, row.first_failed_at = 0, now
    row.failures += 1
    row.last_failed_at = now
    extra = row.failures - settings.login_max_failures
    if extra < 0:
        return 0.0
    seconds = float(min(settings.login_lockout_seconds * 2 ** min(extra, 16), settings.login_lockout_max_seconds))
    row.locked_until = now + timedelta(seconds=seconds)
    return seconds


async def clear_failures(session: AsyncSession, key: str) -> None:
    """Forget the failed logins of a key after a good login."""
    await session.execute(delete(LoginFailure).where(LoginFailure.key == key))


def minutes_text(seconds: float) -> str:
    """Return a wait as plain Dutch ("1 minuut", "3 minuten")."""
    minutes = max(1, int((seconds + 59) // 60))
    return "1 minuut" if minutes == 1 else f"{minutes} minuten"


def is_expired(at: datetime) -> bool:
    """Tell whether a moment lies in the past."""
    return at <= utcnow()
