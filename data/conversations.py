"""Find or create the jongere, channel identity and conversation behind an address."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from data.models import ChannelIdentity, Conversation, Jongere, Message, utcnow


@dataclass
class ConversationRef:
    """The three rows one turn works on."""

    identity: ChannelIdentity
    jongere: Jongere
    conversation: Conversation


async def load(session: AsyncSession, address: str, *, lock: bool = False) -> ConversationRef | None:
    """Load identity, jongere and conversation of `address` in one query (locked on PostgreSQL)."""
    query = (select(ChannelIdentity, Jongere, Conversation)
             .join(Jongere, Jongere.id == ChannelIdentity.jongere_id)
             .join(Conversation, Conversation.identity_id == ChannelIdentity.id)
             .where(ChannelIdentity.address == address))
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=Conversation)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    return ConversationRef(identity=row[0], jongere=row[1], conversation=row[2])


async def create(session: AsyncSession, channel: str, address: str, language: str = "nl",
                 display_name: str | None = None) -> ConversationRef:
    """Create a jongere with one channel identity and an empty conversation."""
    now = utcnow()
    jongere = Jongere(language=language, display_name=display_name, created_at=now)
    session.add(jongere)
    await session.flush()
    identity = ChannelIdentity(jongere_id=jongere.id, channel=channel, address=address, created_at=now)
    session.add(identity)
    await session.flush()
    conversation = Conversation(jongere_id=jongere.id, identity_id=identity.id, mode="bot", flow_state={},
                                turns=0, created_at=now, updated_at=now)
    session.add(conversation)
    await session.flush()
    return ConversationRef(identity=identity, jongere=jongere, conversation=conversation)


async def is_duplicate(session: AsyncSession, channel: str, channel_message_id: str) -> bool:
    """Tell whether an inbound message with this channel message id was stored before."""
    found = await session.execute(
        select(Message.id).where(Message.channel == channel, Message.direction == "in",
                                 Message.channel_message_id == channel_message_id).limit(1))
    return found.scalar_one_or_none() is not None
