"""What a flow step sees and does during one turn: the message, the conversation, the replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from data import records
from data.models import ChannelIdentity, Conversation, Jongere, Ticket
from flows.messages import Button, IncomingMessage, Reply
from flows.texts import Texts
from nlu.types import NluResult


@dataclass
class FlowState:
    """Where a conversation is: the flow, its step, the step's data and the options last offered."""

    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> FlowState:
        """Read the state stored on a conversation."""
        raw = raw or {}
        return cls(flow=raw.get("flow"), step=raw.get("step"), data=dict(raw.get("data") or {}),
                   options=list(raw.get("options") or []))

    def dump(self) -> dict[str, Any]:
        """Return the state as stored on a conversation."""
        return {"flow": self.flow, "step": self.step, "data": self.data, "options": self.options}

    def at(self) -> str | None:
        """Return `flow.step`, or None when no flow is running."""
        return f"{self.flow}.{self.step}" if self.flow and self.step else None


@dataclass
class TurnContext:
    """One turn of one conversation, inside the dispatcher's transaction."""

    session: AsyncSession
    message: IncomingMessage
    identity: ChannelIdentity
    jongere: Jongere
    conversation: Conversation
    texts: Texts
    is_new: bool
    nlu: NluResult | None = None
    replies: list[Reply] = field(default_factory=list)
    state: FlowState = field(default_factory=FlowState)
    text: str = ""
    payload: str | None = None
    truncated: int = 0  # the limit the text was cut at, 0 when it was not

    @property
    def lang(self) -> str:
        """Return the jongere's language."""
        return self.jongere.language or "nl"

    def t(self, key: str, **values: Any) -> str:
        """Return text `key` in the jongere's language."""
        return self.texts.get(self.lang, key, **values)

    def say(self, text: str, buttons: list[Button] | None = None, meta: dict[str, Any] | None = None) -> None:
        """Queue a reply; its buttons become the options a number can pick; meta is kept for the figures."""
        reply = Reply(text=text, buttons=tuple(buttons or ()), meta=dict(meta or {}))
        self.replies.append(reply)
        if reply.buttons:
            self.state.options = [b.payload for b in reply.buttons]

    def finish(self) -> None:
        """Forget offered options when this turn's replies offered none."""
        if self.replies and not any(r.buttons for r in self.replies):
            self.state.options = []

    def button(self, key: str, payload: str) -> Button:
        """Return a button whose title is text `key`."""
        return Button(self.t(key), payload)

    def goto(self, flow: str | None, step: str | None = None, **data: Any) -> None:
        """Move the conversation to `flow.step` with fresh step data (None ends the flow)."""
        self.state.flow, self.state.step = flow, step
        self.state.data = dict(data)

    async def open_ticket(self, kind: str, priority: int, detail: dict[str, Any] | None = None) -> Ticket:
        """Open (or reuse) a ticket for a human on this conversation."""
        return await records.open_ticket(self.session, self.conversation, kind, priority, detail or {})

    async def record_consent(self, purpose: str, granted: bool, text_version: str) -> None:
        """Store the jongere's answer to a consent question."""
        await records.record_consent(self.session, self.jongere.id, purpose, granted, text_version,
                                     self.identity.channel)

    async def has_consent(self, purpose: str) -> bool:
        """Tell whether the latest answer for `purpose` is yes."""
        return await records.has_consent(self.session, self.jongere.id, purpose)

    def set_mode(self, mode: str) -> None:
        """Switch between bot, waiting_for_coach and with_coach."""
        self.conversation.mode = mode
