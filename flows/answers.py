"""Answers to questions; until the sociale kaart is connected, a kind fallback with a way out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from flows.context import TurnContext

Answerer = Callable[[TurnContext], Awaitable[bool]]

_answerers: list[Answerer] = []


def register(answerer: Answerer) -> None:
    """Add a source of answers (FAQ, sociale kaart); the first that answers wins."""
    if answerer not in _answerers:
        _answerers.append(answerer)


async def answer_question(ctx: TurnContext) -> None:
    """Answer the jongere's question, or say kindly that we cannot and offer the menu and a person."""
    for answerer in _answerers:
        if await answerer(ctx):
            return
    fallback(ctx)


def fallback(ctx: TurnContext) -> None:
    """Say we did not understand and offer the menu and a person."""
    ctx.say(ctx.t("fallback"), [ctx.button("menu_mens", "menu:mens"), ctx.button("menu_button", "menu:menu")])
