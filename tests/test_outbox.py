"""The outbox sender: leases, retries, order per jongere, permanent failures."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import select, update

from bot.channels.base import SendResult
from bot.channels.collecting import CollectingChannel
from bot.sender import OutboxSender
from data.models import ChannelIdentity, OutboxItem, utcnow
from flows.messages import IncomingMessage


async def _queue(runtime, identity: str = "test:o1", text: str = "hoi") -> None:
    await runtime.dispatcher.handle(IncomingMessage("test", identity, text))


async def test_a_row_under_lease_is_not_sent_again_and_is_after_the_lease(runtime):
    await _queue(runtime)
    async with runtime.db.transaction() as s:  # another worker claimed everything and died
        await s.execute(update(OutboxItem).values(state="sending", claimed_by="dead",
                                                  claimed_until=utcnow() + timedelta(seconds=60)))
    channel = CollectingChannel("test")
    sender = OutboxSender(runtime.db, {"test": channel})
    assert await sender.drain_once() == 0 and channel.sent == []
    async with runtime.db.transaction() as s:  # the lease runs out
        await s.execute(update(OutboxItem).values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert await sender.drain_once() == 2
    assert len(channel.sent) == 2 and len({i.id for i in channel.sent}) == 2


async def test_transient_failure_is_retried_and_order_is_kept(runtime):
    await _queue(runtime)  # welcome + language choice: two rows for one jongere
    channel = CollectingChannel("test")
    channel.fail_next = [SendResult.retry("timeout", retry_after=0)]
    sender = OutboxSender(runtime.db, {"test": channel})
    await sender.drain_once()
    assert channel.sent == []  # the first failed, so the second waited
    while await sender.drain_once():
        pass
    assert [i.reply.text.split()[0] for i in channel.sent] == ["Hoi!", "In"]
    async with runtime.db.session() as s:
        rows = (await s.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars().all()
    assert [r.state for r in rows] == ["sent", "sent"] and rows[0].attempts == 2


async def test_backoff_holds_later_rows_of_the_same_jongere_but_not_others(runtime):
    await _queue(runtime, "test:a")
    await _queue(runtime, "test:b")
    channel = CollectingChannel("test")
    channel.fail_next = [SendResult.retry("busy", retry_after=60)]
    sender = OutboxSender(runtime.db, {"test": channel})
    while await sender.drain_once():
        pass
    assert channel.texts("test:a") == [] and len(channel.texts("test:b")) == 2


async def test_permanent_failure_marks_row_failed_and_identity_unreachable(runtime):
    await _queue(runtime, "test:blocked")
    channel = CollectingChannel("test")
    channel.fail_next = [SendResult.failed("Forbidden: bot was blocked by the user", unreachable=True)]
    sender = OutboxSender(runtime.db, {"test": channel})
    while await sender.drain_once():
        pass
    async with runtime.db.session() as s:
        first = (await s.execute(select(OutboxItem).order_by(OutboxItem.id).limit(1))).scalar_one()
        identity = (await s.execute(select(ChannelIdentity))).scalar_one()
    assert first.state == "failed" and "blocked" in (first.last_error or "")
    assert identity.unreachable is True


async def test_too_many_attempts_end_in_failed(runtime):
    await _queue(runtime)
    channel = CollectingChannel("test")
    channel.fail_next = [SendResult.retry("down", retry_after=0)] * 3
    sender = OutboxSender(runtime.db, {"test": channel}, max_attempts=3)
    for _ in range(5):
        await sender.drain_once()
    async with runtime.db.session() as s:
        first = (await s.execute(select(OutboxItem).order_by(OutboxItem.id).limit(1))).scalar_one()
    assert first.state == "failed" and first.attempts == 3


class SlowChannel(CollectingChannel):
    """Takes a while per message, so a sender can be killed halfway through a batch."""

    async def send(self, item):
        await asyncio.sleep(0.05)
        return await super().send(item)


async def test_sender_killed_mid_batch_resumes_without_duplicates(runtime):
    for n in range(6):
        await _queue(runtime, f"test:k{n}")  # 12 rows: welcome + language choice each
    slow = SlowChannel("test")
    first = OutboxSender(runtime.db, {"test": slow}, concurrency=2)
    task = asyncio.create_task(first.drain_once())
    await asyncio.sleep(0.12)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert 0 < len(slow.sent) < 12
    fresh = CollectingChannel("test")
    second = OutboxSender(runtime.db, {"test": fresh})
    while await second.drain_once():
        pass
    delivered = [i.id for i in slow.sent] + [i.id for i in fresh.sent]
    assert sorted(delivered) == sorted(set(delivered)) and len(delivered) == 12
    for n in range(6):  # and each jongere got the welcome before the language choice
        texts = slow.texts(f"test:k{n}") + fresh.texts(f"test:k{n}")
        assert texts[0].startswith("Hoi!") and texts[1].startswith("In welke taal")
