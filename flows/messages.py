"""The channel-neutral conversation vocabulary: what comes in and what goes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IncomingMessage:
    """One message from a jongere, as any channel hands it over.

    `identity` is normalised at the edge: `telegram:<chat_id>`, `whatsapp:+316…`, `web:<uuid>`.
    `payload` is set when the jongere pressed a button (the button's payload); `text` then holds
    the button's title. `kind` is "text" for text, else what the channel received ("photo",
    "voice", "sticker", "document", "location", …) with `meta` describing it (never the file).
    """

    channel: str
    identity: str
    text: str
    channel_message_id: str | None = None
    payload: str | None = None
    kind: str = "text"
    meta: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class Button:
    """A choice the jongere can tap; `payload` is what comes back."""

    title: str
    payload: str


@dataclass(frozen=True)
class Link:
    """A link to show with a reply."""

    title: str
    url: str


@dataclass(frozen=True)
class Reply:
    """One outgoing message: text with optional buttons and links."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    kind: str = "text"
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Non-personal facts for the figures (what kind of answer, which kaart entries); stored on the
    outbound Message.payload only, never sent to a channel or put in the outbox."""

    def to_json(self) -> dict[str, Any]:
        """Return the reply as stored in the outbox."""
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "links": [{"title": lk.title, "url": lk.url} for lk in self.links],
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        """Build a reply from its stored form."""
        return cls(
            text=str(data.get("text", "")),
            buttons=tuple(Button(str(b["title"]), str(b["payload"])) for b in data.get("buttons", [])),
            links=tuple(Link(str(lk["title"]), str(lk["url"])) for lk in data.get("links", [])),
            kind=str(data.get("kind", "text")),
        )


def render_numbered(reply: Reply) -> str:
    """Render buttons and links as plain text: numbered options, the text fallback for any channel."""
    parts = [reply.text]
    if reply.buttons:
        parts.append("\n".join(f"{i}. {b.title}" for i, b in enumerate(reply.buttons, start=1)))
    if reply.links:
        parts.append("\n".join(f"{lk.title}: {lk.url}" for lk in reply.links))
    return "\n\n".join(p for p in parts if p)
