"""What every outbound channel implements, and what a send attempt can end in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flows.messages import Reply


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text at paragraph, then line, then word boundaries into parts of at most `limit`."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = limit
        for separator in ("\n\n", "\n", " "):  # the biggest boundary in the second half of the part
            found = rest.rfind(separator, 0, limit)
            if found > limit // 2:
                cut = found
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


@dataclass(frozen=True)
class OutboundItem:
    """One outbox row handed to a channel."""

    id: int
    identity_id: int
    address: str
    reply: Reply
    kind: str
    attempts: int
    last_inbound_at: datetime | None = None
    opted_out: bool = False


@dataclass(frozen=True)
class SendResult:
    """The end of one send attempt: sent, try again later, or give up."""

    status: str  # sent | retry | failed
    provider_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    unreachable: bool = False
    tell_coach: bool = False  # open an "onbereikbaar" ticket so a person knows

    @classmethod
    def sent(cls, provider_message_id: str | None = None) -> SendResult:
        """Return a successful result."""
        return cls("sent", provider_message_id=provider_message_id)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> SendResult:
        """Return a transient failure; `retry_after` seconds when the platform said so."""
        return cls("retry", error=error, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str, unreachable: bool = False, tell_coach: bool = True) -> SendResult:
        """Return a permanent failure; `unreachable` when the jongere cannot be reached here."""
        return cls("failed", error=error, unreachable=unreachable, tell_coach=tell_coach)


class OutboundChannel(Protocol):
    """A channel the outbox sender can deliver to."""

    name: str

    async def send(self, item: OutboundItem) -> SendResult:
        """Deliver one reply to its address."""
        ...

    async def delivered(self, items: list[OutboundItem]) -> None:
        """Hear that these items are stored as sent (e.g. to wake web chat listeners)."""
        ...
