"""Answers to questions: registered answer sources first, else a kind fallback with a way out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from data.content_store import record_unanswered
from flows.context import TurnContext

Answerer = Callable[[TurnContext], Awaitable[bool]]

_answerers: list[Answerer] = []
_steps: dict[str, Answerer] = {}


def register(answerer: Answerer) -> None:
    """Add a source of answers (FAQ, sociale kaart); the first that answers wins."""
    if answerer not in _answerers:
        _answerers.append(answerer)


def register_step(flow: str, handler: Answerer) -> None:
    """Let `handler` take the turns of flow `flow` and its `<flow>:` buttons; it returns False to pass."""
    _steps[flow] = handler


async def continue_flow(ctx: TurnContext) -> bool:
    """Give the turn to the registered step handler of the running flow; True when it handled it."""
    handler = _steps.get(ctx.state.flow or "")
    if handler is None and ctx.payload and ":" in ctx.payload:
        handler = _steps.get(ctx.payload.split(":", 1)[0])
    return handler is not None and await handler(ctx)


async def try_answers(ctx: TurnContext) -> bool:
    """Let the answer sources answer; True when one did."""
    for answerer in _answerers:
        if await answerer(ctx):
            return True
    return False


async def answer_question(ctx: TurnContext) -> None:
    """Answer the jongere's question, or say kindly that we cannot and offer the menu and a person."""
    if await try_answers(ctx):
        return
    if not ctx.payload:  # the question text only, never who asked it
        await record_unanswered(ctx.session, ctx.text, ctx.lang)
    fallback(ctx)


def fallback(ctx: TurnContext) -> None:
    """Say we did not understand and offer the menu and a person."""
    ctx.say(ctx.t("fallback"), [ctx.button("menu_mens", "menu:mens"), ctx.button("menu_button", "menu:menu")],
            meta={"answer": "fallback"})
