"""Explicit consent per purpose: ask, explain more on request, store the answer with its text version."""

from __future__ import annotations

from flows.context import TurnContext

YES_WORDS = {"ja", "yes", "jaa", "jep", "yep", "ok", "oké", "oke", "prima", "goed", "y", "j"}
NO_WORDS = {"nee", "no", "nope", "neen", "n", "liever niet", "nah"}
MORE_WORDS = {"meer info", "meer", "info", "more info", "more", "uitleg", "?"}


def ask(ctx: TurnContext, purpose: str, then: str) -> None:
    """Ask consent for `purpose`; after the answer continue at flow step `then`."""
    ctx.say(ctx.t(f"consent_{purpose}"), [
        ctx.button("consent_yes", "consent:ja"),
        ctx.button("consent_no", "consent:nee"),
        ctx.button("consent_more", "consent:meer"),
    ])
    ctx.goto("consent", "answer", purpose=purpose, then=then)


def classify(ctx: TurnContext) -> str | None:
    """Return ja, nee or meer for the jongere's answer, or None if it is none of those."""
    if ctx.payload and ctx.payload.startswith("consent:"):
        return ctx.payload.split(":", 1)[1]
    words = ctx.text.strip().lower().rstrip("!.")
    if words in YES_WORDS:
        return "ja"
    if words in NO_WORDS:
        return "nee"
    if words in MORE_WORDS:
        return "meer"
    return None


async def answer(ctx: TurnContext) -> str | None:
    """Handle the answer to a consent question; return the step to continue at, if any."""
    purpose = str(ctx.state.data.get("purpose", ""))
    then = str(ctx.state.data.get("then", ""))
    choice = classify(ctx)
    if choice == "meer":
        ctx.say(ctx.t(f"consent_{purpose}_more"))
        ask(ctx, purpose, then)
        return None
    if choice not in ("ja", "nee"):
        ctx.say(ctx.t("consent_choose"), [
            ctx.button("consent_yes", "consent:ja"),
            ctx.button("consent_no", "consent:nee"),
            ctx.button("consent_more", "consent:meer"),
        ])
        return None
    granted = choice == "ja"
    await ctx.record_consent(purpose, granted, ctx.t(f"consent_{purpose}_version"))
    ctx.goto(None)
    return f"{then}:{'granted' if granted else 'refused'}"
