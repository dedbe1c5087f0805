"""The tables, as typed SQLAlchemy 2 models. Migrations in data/migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as UTC."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read as aware UTC (SQLite hands back naive values)."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of all models."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UtcDateTime()}


class Jongere(Base):
    """A young person who contacted the desk, on whichever channel."""

    __tablename__ = "jongere"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    language: Mapped[str] = mapped_column(String(5), default="nl")
    age: Mapped[int | None] = mapped_column(Integer, default=None)
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    begeleider_id: Mapped[int | None] = mapped_column(ForeignKey("coach.id"), default=None)


class ChannelIdentity(Base):
    """One address of a jongere on one channel: `telegram:<id>`, `whatsapp:+31…`, `web:<uuid>`."""

    __tablename__ = "channel_identity"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    unreachable_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)


class Conversation(Base):
    """The running conversation of one channel identity, with its flow state as data."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id", ondelete="CASCADE"),
                                             unique=True)
    mode: Mapped[str] = mapped_column(String(20), default="bot")  # bot | waiting_for_coach | with_coach
    flow_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime | None] = mapped_column(default=None)


class Message(Base):
    """One message in a conversation, in either direction."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "channel_message_id", name="uq_message_channel_msgid"),
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    channel_message_id: Mapped[str | None] = mapped_column(String(120), default=None)
    sender: Mapped[str] = mapped_column(String(20), default="jongere")  # jongere | bot | coach
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("coach.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboxItem(Base):
    """A message waiting to be sent, being sent, or done; nothing is sent that is not here first."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id", ondelete="CASCADE"),
                                             index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40), default="reply")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(120), default=None, index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    message: Mapped[Message | None] = relationship(lazy="raise")


class ScheduledJob(Base):
    """Due work (reminders, nazorg check-ins) as a row; the scheduler claims it when due."""

    __tablename__ = "scheduled_job"
    __table_args__ = (Index("ix_scheduled_job_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    due_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending|running|done|failed
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Coach(Base):
    """A staff account: begeleider, teamleider, redacteur or beheerder."""

    __tablename__ = "coach"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    team: Mapped[str] = mapped_column(String(80), default="team-1")
    password_hash: Mapped[str | None] = mapped_column(String(300), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRecord(Base):
    """A jongere's yes or no to one purpose, with the version of the text they saw."""

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column(Boolean)
    text_version: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    """Work for a human: a request for a person, a crisis, an undeliverable message."""

    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_state_priority", "state", "priority", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"),
                                                 index=True)
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # mens_spreken | crisis | onbereikbaar | aanmelding
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 0 = crisis, most urgent
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | in_progress | closed
    assigned_coach_id: Mapped[int | None] = mapped_column(ForeignKey("coach.id"), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditLog(Base):
    """Who did what to which record, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))  # "coach:<id>", "bot", "system"
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KaartRecord(Base):
    """One sociale-kaart entry as stored: the validated entry (`KaartEntry`) as JSON, keyed by its id."""

    __tablename__ = "kaart_entry"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the seed/export file
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="system")  # "seed", "coach:<id>", …


class FaqRecord(Base):
    """One FAQ entry as stored: the validated entry (`FaqEntry`) as JSON, keyed by its id."""

    __tablename__ = "faq_entry"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="system")


class ContentVersion(Base):
    """A single row whose counter goes up with every content change, so caches notice deletions too."""

    __tablename__ = "content_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnansweredQuestion(Base):
    """A question the bot could not answer, for the redactie: the text only, never who asked it.

    There is deliberately no jongere, conversation or channel column. Equal questions (same
    normalised text) share one row and count up.
    """

    __tablename__ = "onbeantwoorde_vraag"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the normalised text
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="nl")
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Note(Base):
    """A private note of a coach about a jongere (optionally about one ticket); never sent to the jongere."""

    __tablename__ = "note"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), default=None)
    coach_id: Mapped[int] = mapped_column(ForeignKey("coach.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """A signed-in console session; the cookie holds the token, the table only its sha256."""

    __tablename__ = "console_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie token
    coach_id: Mapped[int] = mapped_column(ForeignKey("coach.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class LoginFailure(Base):
    """Failed console logins per e-mail address and IP (both only as a sha256), for the slow-down."""

    __tablename__ = "login_failure"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class LinkCode(Base):
    """A one-time code a coach gives a jongere to connect another channel (Telegram) to their dossier."""

    __tablename__ = "link_code"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # A-Za-z0-9_-, as Telegram's /start allows
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("coach.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class Snippet(Base):
    """A standaardantwoord: a canned reply of a team that begeleiders can put in their answer."""

    __tablename__ = "snippet"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team: Mapped[str] = mapped_column(String(80), index=True)
    title: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("coach.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
