"""A channel that keeps what it is sent: for tests, benchmarks and the terminal."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from bot.channels.base import OutboundItem, SendResult
from flows.messages import Reply


class CollectingChannel:
    """Collects replies per address; can be told to fail for tests of retries."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.sent: list[OutboundItem] = []
        self.by_address: dict[str, list[Reply]] = defaultdict(list)
        self.fail_next: list[SendResult] = []
        self._changed = asyncio.Condition()

    async def send(self, item: OutboundItem) -> SendResult:
        """Record the reply (or return the next injected failure)."""
        if self.fail_next:
            return self.fail_next.pop(0)
        self.sent.append(item)
        self.by_address[item.address].append(item.reply)
        return SendResult.sent(f"{self.name}-{item.id}")

    async def delivered(self, items: list[OutboundItem]) -> None:
        """Wake anyone waiting for replies."""
        async with self._changed:
            self._changed.notify_all()

    def texts(self, address: str) -> list[str]:
        """Return the texts sent to `address`, in order."""
        return [r.text for r in self.by_address.get(address, [])]

    async def wait_for(self, address: str, count: int, timeout: float = 5.0) -> list[Reply]:
        """Wait until `address` has received at least `count` replies, and return them."""
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.by_address.get(address, [])) >= count)
        await asyncio.wait_for(enough(), timeout)
        return list(self.by_address[address])
