"""The answer to a crisis message: safety lines at once, a person as soon as possible."""

from __future__ import annotations

from typing import Any

from flows.context import TurnContext
from flows.handoff import PRIORITY_CRISIS


async def respond(ctx: TurnContext, detail: dict[str, Any]) -> None:
    """Send 113/112/Veilig Thuis now and raise an urgent ticket; the conversation stays open."""
    ctx.say(ctx.t("crisis"))
    await ctx.open_ticket("crisis", PRIORITY_CRISIS, detail)
    if ctx.conversation.mode == "bot":
        ctx.set_mode("waiting_for_coach")
        ctx.goto("handoff", "waiting", acknowledged=True)
