"""Small helpers for driving conversations in tests."""

from __future__ import annotations

import itertools

from bot.channels.collecting import CollectingChannel
from bot.runtime import Runtime
from flows.messages import IncomingMessage, Reply

_ids = itertools.count(1)


class Chat:
    """One jongere talking to the bot through the test channel."""

    def __init__(self, runtime: Runtime, identity: str = "test:jongere-1") -> None:
        self.runtime = runtime
        self.identity = identity
        channel = runtime.channels["test"]
        assert isinstance(channel, CollectingChannel)
        self.channel = channel

    async def send(self, text: str = "", payload: str | None = None, msg_id: str | None = None,
                   kind: str = "text") -> list[Reply]:
        """Send one message, deliver the outbox, and return the replies it produced."""
        before = len(self.channel.by_address.get(self.identity, []))
        await self.runtime.dispatcher.handle(IncomingMessage(
            channel="test", identity=self.identity, text=text, payload=payload, kind=kind,
            channel_message_id=msg_id or f"m{next(_ids)}"))
        while await self.runtime.sender.drain_once():
            pass
        return self.channel.by_address.get(self.identity, [])[before:]

    @property
    def all(self) -> list[Reply]:
        """Return every reply this jongere got."""
        return list(self.channel.by_address.get(self.identity, []))


def text_of(replies: list[Reply]) -> str:
    """Join the texts of replies, for assertions."""
    return "\n".join(r.text for r in replies)


def payloads(replies: list[Reply]) -> list[str]:
    """Return every button payload offered in replies."""
    return [b.payload for r in replies for b in r.buttons]
