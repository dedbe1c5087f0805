"""Token buckets for outbound pacing: one for the whole channel, one per chat."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.updated = time.monotonic()

    def reserve(self, now: float) -> float:
        """Take one token and return how long to wait before using it (0 when it is there now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class ChannelPacer:
    """Paces sends: a global rate per bot/sender and a rate per chat, each with a burst allowance."""

    def __init__(self, global_rate: float, per_chat_rate: float | None = None, per_chat_burst: float = 3.0,
                 global_burst: float | None = None) -> None:
        self.global_bucket = TokenBucket(global_rate, global_burst or max(1.0, global_rate / 10))
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self._chats: dict[str, TokenBucket] = {}

    async def acquire(self, chat: str) -> None:
        """Wait until one more message to `chat` stays within both limits."""
        now = time.monotonic()
        wait = 0.0
        if self.per_chat_rate:
            bucket = self._chats.get(chat)
            if bucket is None:
                bucket = self._chats[chat] = TokenBucket(self.per_chat_rate, self.per_chat_burst)
            wait = bucket.reserve(now)
        if wait:
            await asyncio.sleep(wait)
            now = time.monotonic()
        wait = self.global_bucket.reserve(now)
        if wait:
            await asyncio.sleep(wait)
        if len(self._chats) > 10_000:
            self._forget_idle(time.monotonic())

    def _forget_idle(self, now: float) -> None:
        """Drop chat buckets that are full again, so memory stays bounded."""
        for chat, bucket in list(self._chats.items()):
            if (now - bucket.updated) * bucket.rate + bucket.tokens >= bucket.burst:
                del self._chats[chat]
