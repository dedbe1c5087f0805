"""Build a runtime from settings: NLU engine, crisis check, channels whose credentials are set."""

from __future__ import annotations

import logging
from typing import Any

from bot.dispatcher import CrisisCheck
from bot.runtime import Runtime
from data.settings import Settings
from nlu.types import NluEngine, NluResult

log = logging.getLogger(__name__)


def crisis_check_for(engine: NluEngine | None) -> CrisisCheck:
    """Return the crisis check: the phrase lexicon plus the classifier's crisis intent."""
    from nlu import default_crisis_detector

    detector = default_crisis_detector()

    def check(text: str, nlu: NluResult | None) -> dict[str, Any] | None:
        hit = detector.check(text, nlu)
        if hit is None:
            return None
        return {"reason": hit.reason, "category": hit.category}

    return check


def build_runtime(settings: Settings) -> Runtime:
    """Return a runtime with the configured NLU engine, the crisis detector and the kaart/FAQ answers."""
    from flows import kaart_answers
    from nlu import load_engine

    kaart_answers.install()
    engine = load_engine(settings.nlu_engine, settings.rasa_url or None)
    runtime = Runtime(settings, nlu=engine, crisis_check=crisis_check_for(engine))
    add_platform_channels(runtime, settings)
    return runtime


def add_platform_channels(runtime: Runtime, settings: Settings) -> None:
    """Switch on Telegram and WhatsApp when their credentials are set; without them nothing fails."""
    if settings.telegram_bot_token:
        from bot.channels.telegram import TelegramChannel

        webhook = settings.telegram_mode == "webhook" or (settings.telegram_mode == "auto"
                                                          and bool(settings.public_base_url))
        runtime.add_channel(TelegramChannel(
            settings.telegram_bot_token, runtime.dispatcher.handle, base_url=settings.telegram_api_base_url,
            public_base_url=settings.public_base_url if webhook else "",
            webhook_secret=settings.telegram_webhook_secret,
            global_rate=settings.telegram_global_rate, per_chat_rate=settings.telegram_per_chat_rate,
            per_chat_burst=settings.telegram_per_chat_burst))
        log.info("telegram channel on", extra={"mode": "webhook" if webhook else "polling"})
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from:
        from bot.channels.whatsapp import WhatsAppChannel

        if not settings.public_base_url:
            log.warning("whatsapp needs PUBLIC_BASE_URL to verify Twilio's signatures; webhooks will be refused")
        runtime.add_channel(WhatsAppChannel(
            account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
            from_=settings.twilio_whatsapp_from, handle=runtime.dispatcher.handle, db=runtime.db,
            api_base_url=settings.twilio_api_base_url, public_base_url=settings.public_base_url,
            rate=settings.whatsapp_rate, templates=settings.twilio_templates,
            quick_reply_sids=settings.twilio_quick_reply_sids))
        log.info("whatsapp channel on")
