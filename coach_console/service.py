"""What the console reads and writes: inbox, tickets, replies, notes, dossiers. No HTTP here.

Replies are never sent from here: they are stored as a message and an outbox row on the
jongere's own channel, and the outbox sender delivers them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from coach_console.access import sees_jongere
from coach_console.config import ConsoleSettings
from coach_console.sla import SlaStatus, sla_status
from data.models import (
    AuditLog,
    ChannelIdentity,
    Coach,
    ConsentRecord,
    Conversation,
    Jongere,
    Message,
    Note,
    OutboxItem,
    Ticket,
    utcnow,
)
from data.records import OPEN_STATES
from flows.messages import Reply
from flows.texts import Texts

WHATSAPP_WINDOW: Final = timedelta(hours=24)
"""WhatsApp allows free text only within 24 hours after the jongere's last message."""
MAX_REPLY_CHARS: Final = 4000
MAX_NOTE_CHARS: Final = 4000

KIND_NAMES: Final = {"mens_spreken": "Wil een mens spreken", "crisis": "Crisis",
                     "onbereikbaar": "Niet bereikbaar", "aanmelding": "Aanmelding"}
CHANNEL_NAMES: Final = {"web": "Webchat", "whatsapp": "WhatsApp", "telegram": "Telegram", "test": "Test"}
STATE_NAMES: Final = {"open": "Open", "in_progress": "In behandeling", "closed": "Gesloten"}


def actor(coach: Coach) -> str:
    """Return how a coach is named in the audit log."""
    return f"coach:{coach.id}"


def audit(session: AsyncSession, coach: Coach | None, action: str, subject_type: str, subject_id: int | str,
          detail: dict[str, Any] | None = None) -> None:
    """Write who did what to which record, and when."""
    session.add(AuditLog(actor=actor(coach) if coach is not None else "system", action=action,
                         subject_type=subject_type, subject_id=str(subject_id), detail=detail or {},
                         at=utcnow()))


# --- inbox ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboxRow:
    """One open ticket as the inbox shows it."""

    ticket_id: int
    kind: str
    kind_name: str
    priority: int
    state: str
    created_at: datetime
    sla: SlaStatus
    channel: str
    channel_name: str
    jongere_id: int
    jongere_name: str
    handler: str | None
    mine: bool
    detail: dict[str, Any]
    language: str


def jongere_label(jongere_id: int, display_name: str | None) -> str:
    """Return how a jongere is named in the console: their name, or a number."""
    return display_name.strip() if display_name and display_name.strip() else f"Jongere {jongere_id}"


def _open_tickets_query(coach: Coach) -> Any:
    """Select the open tickets this coach may see, with conversation, identity, jongere and handler."""
    handler = aliased(Coach)
    return (select(Ticket, ChannelIdentity.channel, Jongere.id, Jongere.display_name, Jongere.language,
                   handler.name)
            .join(Conversation, Conversation.id == Ticket.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .join(Jongere, Jongere.id == Ticket.jongere_id)
            .outerjoin(handler, handler.id == Ticket.assigned_coach_id)
            .where(Ticket.state.in_(OPEN_STATES), sees_jongere(coach)))


async def inbox(session: AsyncSession, coach: Coach, settings: ConsoleSettings,
                now: datetime | None = None, limit: int = 100) -> list[InboxRow]:
    """Return the open tickets this coach may see: most urgent first, then longest waiting."""
    now = now or utcnow()
    rows = (await session.execute(_open_tickets_query(coach)
                                  .order_by(Ticket.priority, Ticket.created_at, Ticket.id).limit(limit))).all()
    return [InboxRow(ticket_id=t.id, kind=t.kind, kind_name=KIND_NAMES.get(t.kind, t.kind), priority=t.priority,
                     state=t.state, created_at=t.created_at,
                     sla=sla_status(t.kind, t.created_at, t.first_response_at, now, settings),
                     channel=channel, channel_name=CHANNEL_NAMES.get(channel, channel), jongere_id=jid,
                     jongere_name=jongere_label(jid, name), handler=handler_name,
                     mine=t.assigned_coach_id == coach.id, detail=t.detail or {}, language=language or "nl")
            for t, channel, jid, name, language, handler_name in rows]


async def inbox_stamp(session: AsyncSession, coach: Coach) -> str:
    """Return a short fingerprint of this coach's open tickets; it changes whenever the inbox would.

    Aggregates only, so it stays cheap with thousands of open tickets.
    """
    row = (await session.execute(
        select(func.count(Ticket.id), func.max(Ticket.id), func.sum(Ticket.priority),
               func.sum(func.coalesce(Ticket.assigned_coach_id, 0)), func.count(Ticket.first_response_at),
               func.sum(case((Ticket.state == "in_progress", Ticket.id), else_=0)))
        .join(Jongere, Jongere.id == Ticket.jongere_id)
        .where(Ticket.state.in_(OPEN_STATES), sees_jongere(coach)))).one()
    return hashlib.sha256(repr(tuple(row)).encode()).hexdigest()[:16]


async def open_ticket_count(session: AsyncSession, coach: Coach) -> int:
    """Return how many open tickets this coach may see (the inbox shows the most urgent part)."""
    return int((await session.execute(
        select(func.count(Ticket.id)).join(Jongere, Jongere.id == Ticket.jongere_id)
        .where(Ticket.state.in_(OPEN_STATES), sees_jongere(coach)))).scalar_one())


# --- one ticket -------------------------------------------------------------------------------------

@dataclass
class TicketView:
    """A ticket with the rows around it."""

    ticket: Ticket
    conversation: Conversation
    identity: ChannelIdentity
    jongere: Jongere
    handler: Coach | None


async def visible_jongere(session: AsyncSession, coach: Coach, jongere_id: int) -> Jongere | None:
    """Return the jongere when this coach may see them, else None."""
    return (await session.execute(select(Jongere).where(Jongere.id == jongere_id, sees_jongere(coach)))
            ).scalar_one_or_none()


async def load_ticket(session: AsyncSession, coach: Coach, ticket_id: int, *, lock: bool = False
                      ) -> TicketView | None:
    """Return a ticket this coach may see (None when it does not exist or is not theirs to see)."""
    query = (select(Ticket, Conversation, ChannelIdentity, Jongere)
             .join(Conversation, Conversation.id == Ticket.conversation_id)
             .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
             .join(Jongere, Jongere.id == Ticket.jongere_id)
             .where(Ticket.id == ticket_id, sees_jongere(coach)))
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=[Ticket, Conversation])
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    ticket, conversation, identity, jongere = row
    handler = await session.get(Coach, ticket.assigned_coach_id) if ticket.assigned_coach_id else None
    return TicketView(ticket, conversation, identity, jongere, handler)


async def load_conversation(session: AsyncSession, coach: Coach, conversation_id: int
                            ) -> tuple[Conversation, ChannelIdentity, Jongere] | None:
    """Return a conversation this coach may see, with its identity and jongere."""
    row = (await session.execute(
        select(Conversation, ChannelIdentity, Jongere)
        .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
        .join(Jongere, Jongere.id == Conversation.jongere_id)
        .where(Conversation.id == conversation_id, sees_jongere(coach)))).one_or_none()
    return (row[0], row[1], row[2]) if row is not None else None


@dataclass(frozen=True)
class HistoryItem:
    """One message of a conversation with its delivery state."""

    id: int
    direction: str
    sender: str
    sender_name: str
    text: str
    at: datetime
    status: str | None  # None for inbound messages
    status_name: str | None
    error: str | None


STATUS_NAMES: Final = {"pending": "in de wachtrij", "sending": "wordt verstuurd", "sent": "verstuurd",
                       "failed": "niet afgeleverd", "delivered": "afgeleverd", "read": "gelezen",
                       "undelivered": "niet afgeleverd"}


def _status_of(item: OutboxItem | None, message: Message) -> str | None:
    """Return the delivery state of an outbound message: the platform's word if it gave one."""
    if message.direction != "out":
        return None
    if item is None:
        return "sent" if message.sent_at else "pending"
    if item.state == "failed":
        return "failed"
    if item.delivery_status in ("delivered", "read", "undelivered"):
        return item.delivery_status
    return item.state


async def history(session: AsyncSession, conversation_id: int, *, before: int | None = None,
                  page_size: int = 50) -> tuple[list[HistoryItem], bool]:
    """Return one page of a conversation, newest last, and whether older messages exist."""
    coach_name = aliased(Coach)
    query = (select(Message, OutboxItem, coach_name.name)
             .outerjoin(OutboxItem, OutboxItem.message_id == Message.id)
             .outerjoin(coach_name, coach_name.id == Message.coach_id)
             .where(Message.conversation_id == conversation_id, Message.kind != "start"))
    if before is not None:
        query = query.where(Message.id < before)
    rows = (await session.execute(query.order_by(Message.id.desc()).limit(page_size + 1))).all()
    more = len(rows) > page_size
    items: list[HistoryItem] = []
    for message, item, name in reversed(rows[:page_size]):
        status = _status_of(item, message)
        sender_name = {"jongere": "Jongere", "bot": "Chatbot"}.get(message.sender, name or "Medewerker")
        items.append(HistoryItem(id=message.id, direction=message.direction, sender=message.sender,
                                 sender_name=sender_name, text=message.text, at=message.created_at,
                                 status=status, status_name=STATUS_NAMES.get(status or "", status),
                                 error=item.last_error if item is not None and status == "failed" else None))
    return items, more


async def conversation_stamp(session: AsyncSession, conversation_id: int, ticket_id: int | None) -> str:
    """Return a fingerprint of a conversation page: messages, delivery states and the ticket's state."""
    newest = (await session.execute(select(func.max(Message.id)).where(
        Message.conversation_id == conversation_id))).scalar_one_or_none()
    states = (await session.execute(
        select(OutboxItem.state, OutboxItem.delivery_status, func.count())
        .join(Message, Message.id == OutboxItem.message_id)
        .where(Message.conversation_id == conversation_id)
        .group_by(OutboxItem.state, OutboxItem.delivery_status)
        .order_by(OutboxItem.state, OutboxItem.delivery_status))).all()
    ticket_part: Any = None
    if ticket_id is not None:
        ticket_part = (await session.execute(select(Ticket.state, Ticket.assigned_coach_id).where(
            Ticket.id == ticket_id))).one_or_none()
    raw = repr((newest, [tuple(s) for s in states], tuple(ticket_part) if ticket_part else None))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# --- actions ----------------------------------------------------------------------------------------

async def pick_up(session: AsyncSession, coach: Coach, view: TicketView) -> bool:
    """Assign the ticket to this coach and take the conversation over from the bot; False when closed."""
    if view.ticket.state == "closed":
        return False
    view.ticket.assigned_coach_id = coach.id
    view.ticket.state = "in_progress"
    view.conversation.mode = "with_coach"
    view.conversation.updated_at = utcnow()
    audit(session, coach, "ticket_picked_up", "ticket", view.ticket.id)
    return True


def outbox_kind(identity: ChannelIdentity, now: datetime) -> str:
    """Return the outbox kind of a coach's message: a template kind outside WhatsApp's 24-hour window."""
    if identity.channel == "whatsapp" and (identity.last_inbound_at is None
                                           or now - identity.last_inbound_at >= WHATSAPP_WINDOW):
        return "bericht_van_begeleider"
    return "reply"


def queue_message(session: AsyncSession, view: TicketView, text: str, *, sender: str, coach: Coach,
                  kind: str, form_id: str | None = None) -> Message:
    """Store one outgoing message and its outbox row on the jongere's own channel."""
    now = utcnow()
    reply = Reply(text=text)
    message = Message(conversation_id=view.conversation.id, direction="out", channel=view.identity.channel,
                      kind="text", text=text, sender=sender, coach_id=coach.id, created_at=now,
                      channel_message_id=f"console:{form_id}" if form_id else None)
    session.add(message)
    session.add(OutboxItem(message=message, identity_id=view.identity.id, channel=view.identity.channel,
                           address=view.identity.address, kind=kind, payload=reply.to_json(), state="pending",
                           attempts=0, next_attempt_at=now, created_at=now))
    view.conversation.updated_at = now
    view.conversation.last_message_at = now
    return message


class Stale(Exception):
    """The form was made for a ticket that has changed meanwhile (closed by a colleague)."""


class Duplicate(Exception):
    """This form was sent before (a double click or a resent request)."""


async def reply(session: AsyncSession, coach: Coach, view: TicketView, text: str, form_id: str) -> Message:
    """Queue a coach's reply; raise Stale when the ticket is closed, Duplicate when this form was sent."""
    if view.ticket.state == "closed":
        raise Stale
    seen = (await session.execute(select(Message.id).where(
        Message.channel == view.identity.channel, Message.direction == "out",
        Message.channel_message_id == f"console:{form_id}"))).first()
    if seen is not None:
        raise Duplicate
    now = utcnow()
    message = queue_message(session, view, text[:MAX_REPLY_CHARS], sender="coach", coach=coach,
                            kind=outbox_kind(view.identity, now), form_id=form_id)
    if view.ticket.first_response_at is None:
        view.ticket.first_response_at = now
    if view.ticket.assigned_coach_id is None:
        view.ticket.assigned_coach_id = coach.id
    view.ticket.state = "in_progress"
    view.conversation.mode = "with_coach"
    try:
        await session.flush()
    except IntegrityError as exc:  # the same form, sent by another worker at the same moment
        raise Duplicate from exc
    audit(session, coach, "coach_reply", "ticket", view.ticket.id, {"message_id": message.id})
    return message


async def back_to_bot(session: AsyncSession, coach: Coach, view: TicketView, texts: Texts) -> None:
    """Close the ticket, give the conversation back to the bot and tell the jongere; Stale when closed."""
    if view.ticket.state == "closed":
        raise Stale
    now = utcnow()
    view.ticket.state = "closed"
    view.ticket.closed_at = now
    if view.ticket.assigned_coach_id is None:
        view.ticket.assigned_coach_id = coach.id
    view.conversation.mode = "bot"
    view.conversation.flow_state = {}
    text = texts.get(view.jongere.language or "nl", "console_back_to_bot")
    queue_message(session, view, text, sender="bot", coach=coach, kind=outbox_kind(view.identity, now))
    await session.flush()
    audit(session, coach, "back_to_bot", "ticket", view.ticket.id)


async def add_note(session: AsyncSession, coach: Coach, jongere_id: int, ticket_id: int | None, text: str) -> Note:
    """Store a private note about a jongere."""
    note = Note(jongere_id=jongere_id, ticket_id=ticket_id, coach_id=coach.id, text=text[:MAX_NOTE_CHARS],
                created_at=utcnow())
    session.add(note)
    await session.flush()
    audit(session, coach, "note_added", "jongere", jongere_id, {"note_id": note.id})
    return note


@dataclass(frozen=True)
class NoteView:
    """A note with its author's name."""

    text: str
    author: str
    at: datetime
    ticket_id: int | None


async def notes(session: AsyncSession, jongere_id: int, limit: int = 50) -> list[NoteView]:
    """Return the newest notes about a jongere, newest first."""
    rows = (await session.execute(
        select(Note, Coach.name).join(Coach, Coach.id == Note.coach_id).where(Note.jongere_id == jongere_id)
        .order_by(Note.id.desc()).limit(limit))).all()
    return [NoteView(n.text, name, n.created_at, n.ticket_id) for n, name in rows]


# --- dossier ----------------------------------------------------------------------------------------

@dataclass
class Dossier:
    """Everything the console shows about one jongere."""

    jongere: Jongere
    begeleider: Coach | None
    identities: Sequence[ChannelIdentity]
    conversations: dict[int, int]  # identity id → conversation id
    consents: Sequence[ConsentRecord]
    tickets: Sequence[Ticket]
    notes: list[NoteView]


async def dossier(session: AsyncSession, jongere: Jongere) -> Dossier:
    """Collect the dossier of a jongere the caller may see."""
    identities = (await session.execute(select(ChannelIdentity).where(
        ChannelIdentity.jongere_id == jongere.id).order_by(ChannelIdentity.id))).scalars().all()
    conversations = {identity_id: conv_id for conv_id, identity_id in (await session.execute(
        select(Conversation.id, Conversation.identity_id).where(Conversation.jongere_id == jongere.id))).all()}
    consents = (await session.execute(select(ConsentRecord).where(
        ConsentRecord.jongere_id == jongere.id).order_by(ConsentRecord.id.desc()))).scalars().all()
    tickets = (await session.execute(select(Ticket).where(Ticket.jongere_id == jongere.id)
                                     .order_by(Ticket.id.desc()).limit(100))).scalars().all()
    begeleider = await session.get(Coach, jongere.begeleider_id) if jongere.begeleider_id else None
    return Dossier(jongere, begeleider, identities, conversations, consents, tickets,
                   await notes(session, jongere.id))


