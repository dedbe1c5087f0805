"""What every outbound channel implements, and what a send attempt can end in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flows.messages import Reply


@dataclass(frozen=True)
class OutboundItem:
    """One outbox row handed to a channel."""

    id: int
    identity_id: int
    address: str
    reply: Reply
    kind: str
    attempts: int


@dataclass(frozen=True)
class SendResult:
    """The end of one send attempt: sent, try again later, or give up."""

    status: str  # sent | retry | failed
    provider_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    unreachable: bool = False

    @classmethod
    def sent(cls, provider_message_id: str | None = None) -> SendResult:
        """Return a successful result."""
        return cls("sent", provider_message_id=provider_message_id)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> SendResult:
        """Return a transient failure; `retry_after` seconds when the platform said so."""
        return cls("retry", error=error, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str, unreachable: bool = False) -> SendResult:
        """Return a permanent failure; `unreachable` when the jongere cannot be reached here."""
        return cls("failed", error=error, unreachable=unreachable)


class OutboundChannel(Protocol):
    """A channel the outbox sender can deliver to."""

    name: str

    async def send(self, item: OutboundItem) -> SendResult:
        """Deliver one reply to its address."""
        ...

    async def delivered(self, items: list[OutboundItem]) -> None:
        """Hear that these items are stored as sent (e.g. to wake web chat listeners)."""
        ...
