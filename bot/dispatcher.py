"""Take one inbound message through a whole turn, in one transaction.

dedupe → load/create conversation → safety check → coach mode → NLU → flow step → outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from bot.locks import KeyedLocks
from data import conversations
from data.db import Database
from data.models import Message, OutboxItem, utcnow
from flows import crisis, router
from flows.context import FlowState, TurnContext
from flows.inbound import clean_text
from flows.messages import IncomingMessage, Reply, render_numbered
from flows.texts import Texts
from nlu.types import NluEngine, NluResult

log = logging.getLogger(__name__)


class CrisisCheck(Protocol):
    """Anything that says whether a message is a crisis."""

    def __call__(self, text: str, nlu: NluResult | None) -> dict[str, Any] | None:
        """Return details of the hit, or None."""
        ...


@dataclass
class TurnOutcome:
    """What one turn did."""

    duplicate: bool = False
    conversation_id: int | None = None
    replies: list[Reply] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    crisis: bool = False


class Dispatcher:
    """Turns inbound messages into stored replies in the outbox."""

    def __init__(self, db: Database, texts: Texts, *, nlu: NluEngine | None = None,
                 crisis_check: CrisisCheck | None = None, max_chars: int = 2000,
                 on_outbox: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.texts = texts
        self.nlu = nlu
        self.crisis_check = crisis_check
        self.max_chars = max_chars
        self.on_outbox = on_outbox
        self._locks = KeyedLocks()

    async def handle(self, message: IncomingMessage) -> TurnOutcome:
        """Handle one inbound message; messages of one identity are handled in arrival order."""
        async with self._locks.hold(message.identity):
            for attempt in range(3):
                try:
                    outcome = await self._turn(message)
                    break
                except IntegrityError:
                    # This message id was stored before, or another worker created this identity first.
                    if message.channel_message_id and await self._seen(message):
                        log.info("duplicate inbound message ignored", extra={"channel": message.channel})
                        return TurnOutcome(duplicate=True)
                    if attempt == 2:
                        raise
        if outcome.outbox_ids and self.on_outbox is not None:
            self.on_outbox(message.channel)
        return outcome

    async def _seen(self, message: IncomingMessage) -> bool:
        """Tell whether this channel message id is stored already."""
        assert message.channel_message_id is not None
        async with self.db.session() as session:
            return await conversations.is_duplicate(session, message.channel, message.channel_message_id)

    async def _turn(self, message: IncomingMessage) -> TurnOutcome:
        """Run the turn inside one transaction."""
        started = time.perf_counter()
        async with self.db.transaction() as session:
            # A repeated channel message id is caught by the unique constraint when the turn is stored:
            # the whole turn rolls back and handle() reports the duplicate (no extra query per turn).
            ref = await conversations.load(session, message.identity, lock=True)
            if ref is None:
                ref = await conversations.create(session, message.channel, message.identity,
                                                 display_name=message.display_name)
            conversation = ref.conversation
            text, cut = clean_text(message.text, self.max_chars)
            now = utcnow()
            session.add(Message(conversation_id=conversation.id, direction="in", channel=message.channel,
                                kind=message.kind, text=text, sender="jongere",
                                payload={"button": message.payload, **message.meta}
                                if (message.payload or message.meta) else None,
                                channel_message_id=message.channel_message_id,
                                created_at=message.received_at or now))
            ref.identity.last_inbound_at = now
            if ref.identity.opted_out and message.kind != "start":
                ref.identity.opted_out = False  # writing again means talking again
            if ref.identity.unreachable:
                ref.identity.unreachable, ref.identity.unreachable_reason = False, None

            nlu_result = self.nlu.parse(text) if (self.nlu and text and not message.payload) else None
            ctx = TurnContext(session=session, message=message, identity=ref.identity, jongere=ref.jongere,
                              conversation=conversation, texts=self.texts, is_new=conversation.turns == 0,
                              nlu=nlu_result, state=FlowState.load(conversation.flow_state), text=text,
                              payload=message.payload, truncated=self.max_chars if cut else 0)
            hit = self.crisis_check(text, nlu_result) if (self.crisis_check and text) else None
            if hit is not None:
                await crisis.respond(ctx, hit)
            else:
                await router.run_turn(ctx)

            ctx.finish()
            conversation.flow_state = ctx.state.dump()
            conversation.turns += 1
            conversation.updated_at = now
            conversation.last_message_at = now
            outbox_items = [self._queue(session_add=session.add, ctx=ctx, reply=reply, now=now)
                            for reply in ctx.replies]
            await session.flush()
            outcome = TurnOutcome(conversation_id=conversation.id, replies=list(ctx.replies),
                                  outbox_ids=[item.id for item in outbox_items], crisis=hit is not None)
        log.info("turn handled", extra={"conversation_id": outcome.conversation_id, "channel": message.channel,
                                        "intent": nlu_result.intent if nlu_result else None,
                                        "replies": len(outcome.replies), "crisis": outcome.crisis,
                                        "ms": round((time.perf_counter() - started) * 1000, 2)})
        return outcome

    @staticmethod
    def _queue(*, session_add: Callable[[Any], None], ctx: TurnContext, reply: Reply, now: Any) -> OutboxItem:
        """Store one reply as an outbound message and its outbox row."""
        out = Message(conversation_id=ctx.conversation.id, direction="out", channel=ctx.identity.channel,
                      kind=reply.kind, text=render_numbered(reply) if reply.links else reply.text,
                      payload=({**reply.to_json(), **reply.meta} if reply.buttons or reply.links
                               else dict(reply.meta) or None),
                      sender="bot", created_at=now)
        session_add(out)
        item = OutboxItem(message=out, identity_id=ctx.identity.id, channel=ctx.identity.channel,
                          address=ctx.identity.address, kind="reply", payload=reply.to_json(),
                          state="pending", attempts=0, next_attempt_at=now, created_at=now)
        session_add(item)
        return item
