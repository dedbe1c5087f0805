"""First contact, language choice and the main menu."""

from __future__ import annotations

from flows.context import TurnContext
from flows.messages import Button

LANGUAGE_PAYLOADS = {"lang:nl": "nl", "lang:en": "en"}


def show_menu(ctx: TurnContext, lead: str | None = None) -> None:
    """Send the main menu, optionally after a lead sentence."""
    text = ctx.t("menu_text") if lead is None else f"{lead}\n\n{ctx.t('menu_text')}"
    ctx.say(text, [
        ctx.button("menu_vraag", "menu:vraag"),
        ctx.button("menu_aanmelden", "menu:aanmelden"),
        ctx.button("menu_afspraak", "menu:afspraak"),
        ctx.button("menu_mens", "menu:mens"),
    ])


def welcome(ctx: TurnContext) -> None:
    """Greet a new jongere: who we are, the short privacy notice and the language choice."""
    ctx.say(f"{ctx.t('welcome')}\n\n{ctx.t('privacy_short')}")
    ctx.say(ctx.t("choose_language"), [Button(ctx.texts.get("nl", "lang_nl"), "lang:nl"),
                                       Button(ctx.texts.get("en", "lang_en"), "lang:en")])
    ctx.goto("welcome", "choose_language")


def choose_language(ctx: TurnContext, lang: str) -> None:
    """Store the chosen language and show the menu in it."""
    ctx.jongere.language = lang
    ctx.goto(None)
    show_menu(ctx, ctx.t("language_set"))
