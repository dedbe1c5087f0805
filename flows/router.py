"""Decide what one turn does: commands anywhere, the running flow, or the meaning of the message."""

from __future__ import annotations

import re

from flows import consent, handoff, linking, menu
from flows.answers import answer_question, continue_flow, try_answers
from flows.context import TurnContext

COMMANDS = {
    "help": "help", "/help": "help", "hulp": "help",
    "menu": "menu", "/menu": "menu", "/start": "start",
    "stop": "stop", "/stop": "stop", "afmelden": "stop", "unsubscribe": "stop",
    "privacy": "privacy", "/privacy": "privacy",
}
QUESTION = re.compile(r"\?|^\s*(wat|wie|waar|hoe|kan|kun|mag|welke|what|who|where|how|can)\b", re.IGNORECASE)
GREETING_ONLY = re.compile(r"^(hoi+|hey+|hi+|hallo+|hello|yo+|goedemiddag|goedemorgen|goedenavond|"
                           r"dag|heey+|hee+|salam|salaam|/start)[\s!.,]*$", re.IGNORECASE)


def command_of(ctx: TurnContext) -> str | None:
    """Return the global command the message is, if any."""
    if ctx.payload and ctx.payload.startswith("cmd:"):
        return ctx.payload[4:]
    if ctx.payload == "menu:menu":
        return "menu"
    return COMMANDS.get(ctx.text.strip().lower().rstrip("!."))


def resolve_option(ctx: TurnContext) -> None:
    """Turn a typed number or a typed button title into that button's payload."""
    if ctx.payload or not ctx.state.options:
        return
    typed = ctx.text.strip().rstrip(".)").lower()
    if typed.isdigit() and 1 <= int(typed) <= len(ctx.state.options):
        ctx.payload = ctx.state.options[int(typed) - 1]


async def run_command(ctx: TurnContext, command: str) -> None:
    """Run help, menu, stop, privacy or start, wherever the conversation is."""
    if command == "stop":
        ctx.identity.opted_out = True
        ctx.goto(None)
        if ctx.conversation.mode == "waiting_for_coach":
            ctx.set_mode("bot")
        ctx.say(ctx.t("stopped"))
    elif command == "help":
        ctx.say(ctx.t("help"))
    elif command == "privacy":
        ctx.say(ctx.t("privacy_long"))
    else:  # menu, start
        back_from_coach = ctx.conversation.mode != "bot"
        ctx.set_mode("bot")
        ctx.goto(None)
        menu.show_menu(ctx, ctx.t("handoff_back_to_bot") if back_from_coach else None)


async def run_menu_choice(ctx: TurnContext, choice: str) -> None:
    """Start what the jongere chose in the main menu."""
    if choice == "vraag":
        ctx.goto(None)
        ctx.say(ctx.t("ask_question"))
    elif choice == "aanmelden":
        await start_aanmelden(ctx)
    elif choice == "afspraak":
        ctx.goto(None)
        ctx.say(ctx.t("afspraak_not_yet"), [ctx.button("menu_mens", "menu:mens"),
                                             ctx.button("menu_button", "menu:menu")])
    elif choice == "mens":
        await handoff.to_person(ctx)
    else:
        menu.show_menu(ctx)


async def start_aanmelden(ctx: TurnContext) -> None:
    """Sign the jongere up; sensitive questions come only after consent."""
    if await ctx.has_consent("intake"):
        await finish_aanmelden(ctx, granted=True)
    else:
        consent.ask(ctx, "intake", then="aanmelden")


async def finish_aanmelden(ctx: TurnContext, granted: bool) -> None:
    """Pass a sign-up to the team, or explain what happens without consent."""
    if granted:
        await ctx.open_ticket("aanmelding", handoff.PRIORITY_NORMAL, {"via": ctx.message.channel})
        ctx.say(ctx.t("aanmelden_done"))
    else:
        ctx.say(ctx.t("aanmelden_without_consent"), [ctx.button("menu_mens", "menu:mens"),
                                                      ctx.button("menu_button", "menu:menu")])


async def run_intent(ctx: TurnContext) -> None:
    """Act on what the NLU made of a free text."""
    intent = ctx.nlu.intent if ctx.nlu else "nlu_fallback"
    if GREETING_ONLY.match(ctx.text.strip()) or intent == "groet":
        menu.show_menu(ctx, ctx.t("greeting"))
    elif intent == "bedankt_doei":
        ctx.say(ctx.t("goodbye"))
    elif intent == "mens_spreken":
        await handoff.to_person(ctx)
    elif intent == "intake_starten":
        # "wat kan Flevodrome voor mij doen?" reads like signing up, but is a question: answer it first.
        if not (QUESTION.search(ctx.text) and await try_answers(ctx)):
            await start_aanmelden(ctx)
    elif intent in ("afspraak_maken", "afspraak_wijzigen"):
        await run_menu_choice(ctx, "afspraak")
    elif intent == "privacy_inzien":
        ctx.say(ctx.t("privacy_long"))
    elif intent == "privacy_verwijderen":
        ctx.say(ctx.t("privacy_delete"), [ctx.button("menu_mens", "menu:mens"),
                                           ctx.button("menu_button", "menu:menu")])
    elif intent == "afmelden":  # free text that sounds like stopping: ask first, "stop" itself is final
        ctx.say(ctx.t("stop_confirm"), [ctx.button("stop_yes", "cmd:stop"), ctx.button("stop_no", "menu:menu")])
    else:
        await answer_question(ctx)


async def run_turn(ctx: TurnContext) -> None:
    """Take one turn of a conversation in bot mode (or a command in any mode)."""
    resolve_option(ctx)
    if ctx.truncated:
        ctx.say(ctx.t("truncated", limit=ctx.truncated))
    code = linking.start_code(ctx)
    if code is not None and command_of(ctx) == "start":  # `/start <code>`: connect this chat to a known jongere
        await linking.link_with_code(ctx, code)
        return
    if ctx.is_new:
        menu.welcome(ctx)
        if ctx.text.strip() and not ctx.payload and command_of(ctx) is None \
                and not GREETING_ONLY.match(ctx.text.strip()):
            await run_intent(ctx)
        return
    command = command_of(ctx)
    if command is not None:
        await run_command(ctx, command)
        return
    if ctx.conversation.mode == "with_coach":
        return  # the coach answers; the bot stays quiet
    if ctx.conversation.mode == "waiting_for_coach":
        handoff.while_waiting(ctx)
        return
    if ctx.message.kind != "text" and not ctx.text.strip():
        ctx.say(ctx.t("only_text"), [ctx.button("menu_mens", "menu:mens"),
                                      ctx.button("menu_button", "menu:menu")])
        return
    payload = ctx.payload or ""
    if payload in menu.LANGUAGE_PAYLOADS:
        menu.choose_language(ctx, menu.LANGUAGE_PAYLOADS[payload])
        return
    if payload.startswith("menu:"):
        await run_menu_choice(ctx, payload.split(":", 1)[1])
        return
    if ctx.state.at() == "consent.answer":
        after = await consent.answer(ctx)
        if after is not None:
            name, outcome = after.split(":")
            if name == "aanmelden":
                await finish_aanmelden(ctx, granted=outcome == "granted")
        return
    if ctx.state.at() == "welcome.choose_language":
        ctx.goto(None)
    if await continue_flow(ctx):  # e.g. the age asked by the kaart answers, or "meer"
        return
    if not ctx.text.strip():
        ctx.say(ctx.t("empty_message"), [ctx.button("menu_button", "menu:menu")])
        return
    await run_intent(ctx)
