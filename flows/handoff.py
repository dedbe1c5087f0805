"""Hand a conversation to a person, and back to the bot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from data.models import utcnow
from flows.context import TurnContext

DeadlineSource = Callable[[str, datetime], datetime]
"""Given a ticket kind and the moment it opened, the local moment a first answer is due."""

_deadline: list[DeadlineSource] = []


def set_deadline_source(source: DeadlineSource) -> None:
    """Let the team's working hours and norm decide the answer time the bot promises."""
    _deadline[:] = [source]


def promise(ctx: TurnContext, kind: str) -> str | None:
    """Return "Een medewerker antwoordt vandaag vóór 16:00" (or tomorrow, or a weekday), when known."""
    if not _deadline:
        return None
    now = utcnow()
    due = _deadline[0](kind, now)
    local_now = now.astimezone(due.tzinfo)
    time = due.strftime("%H:%M")
    days_ahead = (due.date() - local_now.date()).days
    if days_ahead <= 0:
        when = ctx.t("when_today", time=time)
    elif days_ahead == 1:
        when = ctx.t("when_tomorrow", time=time)
    else:
        when = ctx.t("when_day", day=ctx.t("weekdays").split(",")[due.weekday()].strip(), time=time)
    return ctx.t("handoff_promise", when=when)

PRIORITY_CRISIS = 0
PRIORITY_PERSON = 1
PRIORITY_NORMAL = 2


async def to_person(ctx: TurnContext, reason: str = "mens_spreken") -> None:
    """Open a ticket for a person and tell the jongere how this goes."""
    await ctx.open_ticket(reason, PRIORITY_PERSON, {"via": ctx.message.channel})
    ctx.set_mode("waiting_for_coach")
    ctx.goto("handoff", "waiting", acknowledged=False)
    when = promise(ctx, reason)
    ctx.say(ctx.t("handoff_start") + (f"\n{when}" if when else ""))


def while_waiting(ctx: TurnContext) -> None:
    """Acknowledge the first message that arrives while the jongere waits for a person."""
    if not ctx.state.data.get("acknowledged"):
        ctx.say(ctx.t("handoff_waiting"))
        ctx.state.data["acknowledged"] = True
