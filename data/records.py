"""Small storage operations that flows and the dispatcher share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.models import AuditLog, ConsentRecord, Conversation, OutboxItem, Ticket, utcnow

OPEN_STATES = ("open", "in_progress")


async def open_ticket(session: AsyncSession, conversation: Conversation, kind: str, priority: int,
                      detail: dict[str, Any]) -> Ticket:
    """Return the open ticket of this kind for the conversation, or open a new one.

    A more urgent request raises the priority of the ticket that is already open.
    """
    existing = (await session.execute(
        select(Ticket).where(Ticket.conversation_id == conversation.id, Ticket.kind == kind,
                             Ticket.state.in_(OPEN_STATES)).limit(1))).scalar_one_or_none()
    if existing is not None:
        existing.priority = min(existing.priority, priority)
        existing.detail = {**existing.detail, **detail}
        return existing
    ticket = Ticket(conversation_id=conversation.id, jongere_id=conversation.jongere_id, kind=kind,
                    priority=priority, detail=detail, state="open", created_at=utcnow())
    session.add(ticket)
    await session.flush()
    return ticket


async def record_consent(session: AsyncSession, jongere_id: int, purpose: str, granted: bool,
                         text_version: str, channel: str) -> ConsentRecord:
    """Store one consent answer; the newest answer per purpose counts."""
    record = ConsentRecord(jongere_id=jongere_id, purpose=purpose, granted=granted,
                           text_version=text_version, channel=channel, created_at=utcnow())
    session.add(record)
    session.add(AuditLog(actor="bot", action="consent_given" if granted else "consent_refused",
                         subject_type="jongere", subject_id=str(jongere_id),
                         detail={"purpose": purpose, "text_version": text_version}, at=utcnow()))
    await session.flush()
    return record


async def has_consent(session: AsyncSession, jongere_id: int, purpose: str) -> bool:
    """Tell whether the newest consent answer of a jongere for `purpose` is yes."""
    latest = (await session.execute(
        select(ConsentRecord.granted).where(ConsentRecord.jongere_id == jongere_id,
                                            ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.id.desc()).limit(1))).scalar_one_or_none()
    return bool(latest)


async def tell_coach_unreachable(session: AsyncSession, identity_id: int, reason: str) -> Ticket | None:
    """Open (or update) an "onbereikbaar" ticket: a message could not reach the jongere."""
    conversation = (await session.execute(
        select(Conversation).where(Conversation.identity_id == identity_id))).scalar_one_or_none()
    if conversation is None:
        return None
    return await open_ticket(session, conversation, "onbereikbaar", 1, {"reason": reason[:300]})


async def record_delivery_status(session: AsyncSession, provider_message_id: str, status: str,
                                 error_code: str | None) -> int | None:
    """Store a platform's delivery status on the outbox row it belongs to; return the row's identity."""
    values: dict[str, Any] = {"delivery_status": status[:20]}
    if status in ("failed", "undelivered"):
        values.update(state="failed", last_error=f"{status} {error_code or ''}".strip())
    row = (await session.execute(
        update(OutboxItem).where(OutboxItem.provider_message_id == provider_message_id).values(**values)
        .returning(OutboxItem.identity_id))).first()
    if row is None:
        return None
    if status in ("failed", "undelivered"):
        await tell_coach_unreachable(session, row[0], f"{status} {error_code or ''}".strip())
    return int(row[0])
