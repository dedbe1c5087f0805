"""Connect a chat to a jongere who is known already, with the one-time code a coach gave them.

The channel hands the code over as `meta["start_code"]` of a `/start` message (Telegram's deep
link `t.me/<bot>?start=<code>`); this flow knows nothing about which channel that was.
"""

from __future__ import annotations

import logging

from data import link_codes
from flows import menu
from flows.context import TurnContext

log = logging.getLogger(__name__)

FAILURE_TEXTS = {"unknown": "link_code_unknown", "expired": "link_code_expired", "used": "link_code_used"}


def start_code(ctx: TurnContext) -> str | None:
    """Return the code that came with this message, if any."""
    code = ctx.message.meta.get("start_code") if ctx.message.meta else None
    return code if isinstance(code, str) and code.strip() else None


async def link_with_code(ctx: TurnContext, code: str) -> None:
    """Redeem the code: on success this chat is the jongere's from now on; say how it went and offer the menu."""
    result = await link_codes.redeem_code(ctx.session, code, ctx.identity.address)
    log.info("link code redeemed" if result.ok else "link code refused",
             extra={"outcome": result.outcome, "conversation_id": ctx.conversation.id,
                    "channel": ctx.identity.channel})
    if result.jongere is not None:
        ctx.jongere = result.jongere  # the chat moved: from now on we talk in this jongere's language
    if not result.ok and ctx.is_new:  # a first contact with a code that does not work: the usual welcome
        ctx.say(ctx.t(FAILURE_TEXTS[result.outcome]))
        menu.welcome(ctx)
        return
    back_from_coach = ctx.conversation.mode != "bot"
    ctx.set_mode("bot")  # as a plain /start does
    ctx.goto(None)
    key = {"linked": "link_code_linked", "already_linked": "link_code_already_linked"}.get(
        result.outcome) or FAILURE_TEXTS[result.outcome]
    lead = ctx.t(key)
    if back_from_coach:
        lead = f"{lead}\n\n{ctx.t('handoff_back_to_bot')}"
    menu.show_menu(ctx, lead)
