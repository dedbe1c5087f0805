"""Local fakes of the platforms (Telegram Bot API, Twilio REST) served over real HTTP on loopback."""

from tests.fakes.server import LiveServer
from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage
from tests.fakes.twilio_api import (
    BaseUrlAsyncHttpClient,
    FakeTwilioAPI,
    TwilioMessage,
    inbound_whatsapp_params,
    post_signed_form,
    signed_form,
    status_callback_params,
)

__all__ = [
    "BaseUrlAsyncHttpClient",
    "FakeTelegramAPI",
    "FakeTwilioAPI",
    "LiveServer",
    "SentMessage",
    "TwilioMessage",
    "inbound_whatsapp_params",
    "post_signed_form",
    "signed_form",
    "status_callback_params",
]
