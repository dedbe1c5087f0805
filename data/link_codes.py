"""One-time codes that connect a chat (Telegram's `/start <code>`) to a jongere who is known already.

A coach issues a code in the dossier; the jongere sends it from the new chat; redeeming it moves
that chat's channel identity and conversation (with all its messages) to the jongere of the code.
If the chat belonged to another jongere record that is left without any channel, that record is
merged into the jongere of the code (tickets, consent answers and notes move along) and removed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.models import (
    AuditLog,
    ChannelIdentity,
    ConsentRecord,
    Conversation,
    Jongere,
    LinkCode,
    Note,
    Ticket,
    utcnow,
)

ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Capitals and digits without look-alikes (0/O, 1/I): easy to type over, and within Telegram's A-Za-z0-9_-."""
CODE_LENGTH: Final = 10  # 50 bits of randomness
DEFAULT_TTL: Final = timedelta(days=7)
MAX_CODE: Final = 64
_NOT_CODE = re.compile(r"[^A-Za-z0-9]")

Outcome = Literal["linked", "already_linked", "unknown", "expired", "used"]


def new_code() -> str:
    """Return a fresh random code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    """Return a code as stored: typed spaces, dashes and lower case do not matter."""
    return _NOT_CODE.sub("", code[:MAX_CODE * 2]).upper()[:MAX_CODE]


@dataclass(frozen=True)
class Redeemed:
    """How redeeming a code went: the jongere the chat now belongs to, or why not."""

    outcome: Outcome
    jongere: Jongere | None = None
    link_code_id: int | None = None
    merged_jongere_id: int | None = None  # the record the chat belonged to before, when removed

    @property
    def ok(self) -> bool:
        """Tell whether the chat belongs to the jongere of the code now."""
        return self.outcome in ("linked", "already_linked")


async def issue_code(session: AsyncSession, jongere_id: int, coach_id: int, *, ttl: timedelta = DEFAULT_TTL,
                     now: datetime | None = None) -> LinkCode:
    """Make a new one-time code for a jongere, valid for `ttl`, and write it to the audit log."""
    now = now or utcnow()
    link = LinkCode(code=new_code(), jongere_id=jongere_id, created_by=coach_id, created_at=now,
                    expires_at=now + ttl, used_at=None)
    session.add(link)
    await session.flush()
    session.add(AuditLog(actor=f"coach:{coach_id}", action="link_code_issued", subject_type="jongere",
                         subject_id=str(jongere_id),
                         detail={"link_code_id": link.id, "expires_at": link.expires_at.isoformat()}, at=now))
    return link


async def open_codes(session: AsyncSession, jongere_id: int, now: datetime | None = None) -> list[LinkCode]:
    """Return a jongere's codes that are neither used nor expired, newest first."""
    now = now or utcnow()
    rows = await session.execute(select(LinkCode).where(
        LinkCode.jongere_id == jongere_id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .order_by(LinkCode.id.desc()))
    return list(rows.scalars().all())


async def revoke_code(session: AsyncSession, jongere_id: int, link_code_id: int, coach_id: int,
                      now: datetime | None = None) -> bool:
    """End an open code of this jongere at once (it stays in the audit trail); False when not open."""
    now = now or utcnow()
    done = await session.execute(update(LinkCode).where(
        LinkCode.id == link_code_id, LinkCode.jongere_id == jongere_id, LinkCode.used_at.is_(None),
        LinkCode.expires_at > now).values(expires_at=now).execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        return False
    session.add(AuditLog(actor=f"coach:{coach_id}", action="link_code_revoked", subject_type="jongere",
                         subject_id=str(jongere_id), detail={"link_code_id": link_code_id}, at=now))
    return True


async def redeem_code(session: AsyncSession, code: str, address: str, *,
                      now: datetime | None = None) -> Redeemed:
    """Connect the chat at `address` to the jongere of `code`; the chat may be new or known.

    A code works once. When the chat belongs to that jongere already, the answer is
    "already_linked" (and an unused code is spent). Nothing changes when the code is unknown,
    expired or used.
    """
    now = now or utcnow()
    code = normalise(code)
    if not code:
        return Redeemed("unknown")
    query = select(LinkCode).where(LinkCode.code == code)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    link = (await session.execute(query)).scalar_one_or_none()
    if link is None:
        return Redeemed("unknown")
    identity = (await session.execute(select(ChannelIdentity).where(ChannelIdentity.address == address))
                ).scalar_one_or_none()
    already = identity is not None and identity.jongere_id == link.jongere_id
    if not already:
        if link.used_at is not None:
            return Redeemed("used", link_code_id=link.id)
        if link.expires_at <= now:
            return Redeemed("expired", link_code_id=link.id)
    if link.used_at is None:
        # Spend the code only if nobody else did meanwhile (another worker, another chat).
        spent = await session.execute(update(LinkCode).where(LinkCode.id == link.id, LinkCode.used_at.is_(None))
                                      .values(used_at=now).execution_options(synchronize_session=False))
        if getattr(spent, "rowcount", 1) != 1 and not already:
            return Redeemed("used", link_code_id=link.id)
        link.used_at = now
    jongere = await session.get(Jongere, link.jongere_id)
    if jongere is None:  # removed meanwhile; the code went with it on PostgreSQL
        return Redeemed("unknown")
    merged: int | None = None
    if identity is None:
        identity = ChannelIdentity(jongere_id=jongere.id, channel=address.split(":", 1)[0], address=address,
                                   created_at=now)
        session.add(identity)
        await session.flush()
        session.add(Conversation(jongere_id=jongere.id, identity_id=identity.id, mode="bot", flow_state={},
                                 turns=0, created_at=now, updated_at=now))
    elif not already:
        merged = await _move_identity(session, identity, jongere)
    await session.flush()
    session.add(AuditLog(actor="bot", action="link_code_redeemed" if not already else "link_code_already_linked",
                         subject_type="jongere", subject_id=str(jongere.id),
                         detail={"link_code_id": link.id, "identity_id": identity.id, "channel": identity.channel,
                                 "merged_jongere_id": merged}, at=now))
    return Redeemed("already_linked" if already else "linked", jongere, link.id, merged)


async def _move_identity(session: AsyncSession, identity: ChannelIdentity, target: Jongere) -> int | None:
    """Move a channel identity and its conversation to `target`; merge and remove a record left empty.

    Returns the id of the removed jongere record, or None when it still has other channels.
    """
    old_id = identity.jongere_id
    conversation = (await session.execute(select(Conversation).where(Conversation.identity_id == identity.id))
                    ).scalar_one_or_none()
    identity.jongere_id = target.id
    if conversation is not None:
        conversation.jongere_id = target.id
        await session.execute(update(Ticket).where(Ticket.conversation_id == conversation.id)
                              .values(jongere_id=target.id).execution_options(synchronize_session="fetch"))
    await session.flush()
    others = (await session.execute(select(func.count(ChannelIdentity.id)).where(
        ChannelIdentity.jongere_id == old_id))).scalar_one()
    old = await session.get(Jongere, old_id)
    if others or old is None:
        return None
    # The same person, known twice: keep what the old record holds, then remove it.
    for model in (Ticket, ConsentRecord, Note):
        await session.execute(update(model).where(model.jongere_id == old_id)
                              .values(jongere_id=target.id).execution_options(synchronize_session="fetch"))
    await session.execute(delete(LinkCode).where(LinkCode.jongere_id == old_id)
                          .execution_options(synchronize_session="fetch"))
    if target.display_name is None:
        target.display_name = old.display_name
    if target.age is None:
        target.age = old.age
    if target.begeleider_id is None:
        target.begeleider_id = old.begeleider_id
    await session.delete(old)
    return old_id
