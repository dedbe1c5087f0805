"""Drain the outbox: claim due rows with a lease, send them in order per jongere, record the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.channels.base import OutboundChannel, OutboundItem, SendResult
from data import records
from data.db import Database
from data.models import ChannelIdentity, Message, OutboxItem, utcnow
from flows.messages import Reply

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Return an exponential backoff with full jitter for attempt number `attempt` (1-based)."""
    return random.uniform(base / 2, min(cap, base * 2 ** (attempt - 1)))


class OutboxSender:
    """Sends what the outbox holds through the registered channels."""

    def __init__(self, db: Database, channels: dict[str, OutboundChannel], *, lease_seconds: float = 30.0,
                 max_attempts: int = 8, poll_seconds: float = 0.5, batch_size: int = 500,
                 concurrency: int = 500, worker_id: str | None = None) -> None:
        self.db = db
        self.channels = channels
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self, channel: str | None = None) -> None:
        """Make the loop look at the outbox now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Ask the loop to finish its current batch and stop."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Send until stopped; sleep between batches only when there is nothing to do."""
        while not self._stopping:
            try:
                sent = await self.drain_once()
            except Exception:  # keep the loop alive; the rows stay in the outbox
                log.exception("outbox batch failed")
                sent = 0
            if sent == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def drain_once(self) -> int:
        """Claim one batch of due rows and send it; return how many rows were handled."""
        items = await self._claim()
        if not items:
            return 0
        per_identity: dict[int, list[OutboundItem]] = defaultdict(list)
        channel_of: dict[int, str] = {}
        for item, channel in items:
            per_identity[item.identity_id].append(item)
            channel_of[item.id] = channel
        limiter = asyncio.Semaphore(self.concurrency)
        results: dict[int, SendResult] = {}

        async def send_in_order(queue: list[OutboundItem]) -> None:
            async with limiter:
                for position, item in enumerate(queue):
                    result = await self._send_one(channel_of[item.id], item)
                    results[item.id] = result
                    if result.status != "sent":
                        for later in queue[position + 1:]:
                            results[later.id] = SendResult("release")
                        return

        try:
            await asyncio.gather(*(send_in_order(q) for q in per_identity.values()))
        finally:
            # Also when stopped or cancelled halfway: store what went out and hand back the rest at once,
            # so a restarted sender neither sends a message twice nor waits for the lease.
            for item, _ in items:
                results.setdefault(item.id, SendResult("release"))
            await asyncio.shield(self._record(results, [item for item, _ in items]))
        delivered: dict[str, list[OutboundItem]] = defaultdict(list)
        for item, channel in items:
            if results[item.id].status == "sent":
                delivered[channel].append(item)
        for channel, done in delivered.items():
            await self.channels[channel].delivered(done)
        return len(items)

    async def _send_one(self, channel: str, item: OutboundItem) -> SendResult:
        """Send one item, turning an unexpected exception into a retry."""
        try:
            return await self.channels[channel].send(item)
        except Exception as exc:  # a bug or an outage of the platform: try again later
            log.warning("send raised", extra={"outbox_id": item.id, "channel": channel,
                                              "error": type(exc).__name__})
            return SendResult.retry(type(exc).__name__)

    async def _claim(self) -> list[tuple[OutboundItem, str]]:
        """Lease due rows of known channels, never a row behind a blocked earlier row of the same jongere."""
        now = utcnow()
        earlier = aliased(OutboxItem)
        blocked_before = exists().where(
            earlier.identity_id == OutboxItem.identity_id, earlier.id < OutboxItem.id,
            or_(and_(earlier.state == "pending", earlier.next_attempt_at > now),
                and_(earlier.state == "sending", earlier.claimed_until > now)))
        due = or_(and_(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now),
                  and_(OutboxItem.state == "sending", OutboxItem.claimed_until <= now))
        query = (select(OutboxItem.id).where(OutboxItem.channel.in_(list(self.channels)), due, ~blocked_before)
                 .order_by(OutboxItem.id).limit(self.batch_size))
        async with self.db.transaction() as session:
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            ids = list((await session.execute(query)).scalars())
            if not ids:
                return []
            await session.execute(
                update(OutboxItem).where(OutboxItem.id.in_(ids))
                .values(state="sending", claimed_by=self.worker_id, claimed_until=now + self.lease,
                        attempts=OutboxItem.attempts + 1))
            rows = (await session.execute(
                select(OutboxItem, ChannelIdentity.last_inbound_at, ChannelIdentity.opted_out)
                .join(ChannelIdentity, ChannelIdentity.id == OutboxItem.identity_id)
                .where(OutboxItem.id.in_(ids)).order_by(OutboxItem.id))).all()
            return [(OutboundItem(id=r.id, identity_id=r.identity_id, address=r.address,
                                  reply=Reply.from_json(r.payload), kind=r.kind, attempts=r.attempts,
                                  last_inbound_at=last_inbound, opted_out=opted_out), r.channel)
                    for r, last_inbound, opted_out in rows]

    async def _record(self, results: dict[int, SendResult], items: list[OutboundItem]) -> None:
        """Store every outcome of a batch in one transaction, only for rows this worker still holds."""
        now = utcnow()
        table = cast(Table, OutboxItem.__table__)
        sent = [{"row_id": outbox_id, "provider": result.provider_message_id}
                for outbox_id, result in results.items() if result.status == "sent"]
        attempts = {item.id: item.attempts for item in items}
        async with self.db.transaction() as session:
            if sent:  # the common case, in two statements for the whole batch
                await session.execute(
                    table.update().where(table.c.id == bindparam("row_id"), table.c.claimed_by == self.worker_id,
                                         table.c.state == "sending")
                    .values(state="sent", sent_at=now, provider_message_id=bindparam("provider"),
                            claimed_until=None, last_error=None), sent)
                await session.execute(
                    update(Message).where(Message.id.in_(
                        select(OutboxItem.message_id).where(OutboxItem.id.in_([r["row_id"] for r in sent]),
                                                            OutboxItem.state == "sent")))
                    .values(sent_at=now))
            for outbox_id, result in results.items():
                if result.status != "sent":
                    await self._record_unsent(session, outbox_id, result, attempts[outbox_id], now)

    async def _record_unsent(self, session: AsyncSession, outbox_id: int, result: SendResult, attempts: int,
                             now: datetime) -> None:
        """Put a row back for a retry, release it, or end it as failed (telling a person)."""
        values: dict[str, Any]
        if result.status == "release":
            values = {"state": "pending", "claimed_by": None, "claimed_until": None,
                      "attempts": OutboxItem.attempts - 1}
        elif result.status == "retry" and attempts < self.max_attempts:
            wait = result.retry_after if result.retry_after is not None else backoff_seconds(attempts)
            values = {"state": "pending", "claimed_by": None, "claimed_until": None,
                      "next_attempt_at": now + timedelta(seconds=wait), "last_error": (result.error or "")[:500]}
        else:
            values = {"state": "failed", "claimed_until": None,
                      "last_error": (result.error or "too many attempts")[:500]}
        changed = await session.execute(
            update(OutboxItem).where(OutboxItem.id == outbox_id, OutboxItem.claimed_by == self.worker_id,
                                     OutboxItem.state == "sending").values(**values)
            .returning(OutboxItem.identity_id))
        identity_id = changed.scalar_one_or_none()
        if identity_id is None or values["state"] != "failed":
            return  # retried, released, or the lease ran out and another worker holds the row now
        log.warning("outbox row failed", extra={"outbox_id": outbox_id, "error": result.error})
        if result.tell_coach or result.status == "retry":  # retries ran out: tell a person too
            await records.tell_coach_unreachable(session, identity_id, result.error or "failed")
        if result.unreachable:
            await session.execute(update(ChannelIdentity).where(ChannelIdentity.id == identity_id)
                                  .values(unreachable=True, unreachable_reason=(result.error or "")[:300]))
