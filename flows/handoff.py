"""Hand a conversation to a person, and back to the bot."""

from __future__ import annotations

from flows.context import TurnContext

PRIORITY_CRISIS = 0
PRIORITY_PERSON = 1
PRIORITY_NORMAL = 2


async def to_person(ctx: TurnContext, reason: str = "mens_spreken") -> None:
    """Open a ticket for a person and tell the jongere how this goes."""
    await ctx.open_ticket(reason, PRIORITY_PERSON, {"via": ctx.message.channel})
    ctx.set_mode("waiting_for_coach")
    ctx.goto("handoff", "waiting", acknowledged=False)
    ctx.say(ctx.t("handoff_start"))


def while_waiting(ctx: TurnContext) -> None:
    """Acknowledge the first message that arrives while the jongere waits for a person."""
    if not ctx.state.data.get("acknowledged"):
        ctx.say(ctx.t("handoff_waiting"))
        ctx.state.data["acknowledged"] = True
