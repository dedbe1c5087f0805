"""Settings from the environment and `.env`, one object for the whole process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of a deployment; each can be set as an environment variable of the same name."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default="sqlite:///var/jongerenloket.db",
                              description="SQLite file (default) or postgresql://user@host/db")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: str = Field(default="json", description="json or text")

    default_language: str = "nl"
    max_message_chars: int = Field(default=2000, description="longer inbound texts are cut here")
    texts_dir: str = Field(default="", description="folder with nl.yml/en.yml; empty = built-in")

    nlu_engine: str = Field(default="embedded", description="embedded or rasa")
    rasa_url: str = ""

    public_base_url: str = ""
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: str = ""
    telegram_mode: str = Field(default="auto", description="auto (webhook when PUBLIC_BASE_URL is set), webhook "
                                                          "or polling")
    telegram_bot_username: str = Field(default="", description="the bot's @username (with or without @), for "
                                                               "t.me links in the console; empty = code only")

    telegram_global_rate: float = Field(default=30.0, description="messages/s per bot")
    telegram_per_chat_rate: float = Field(default=1.0, description="average messages/s per chat")
    telegram_per_chat_burst: float = Field(default=3.0, description="messages a chat may get at once")

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_whatsapp_from: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    whatsapp_rate: float = Field(default=10.0, description="messages/s per WhatsApp sender")
    twilio_templates: dict[str, str] = Field(
        default_factory=dict, description='JSON: message kind → approved content SID, e.g. {"nazorg_checkin": "HX…"}')
    twilio_quick_reply_sids: dict[str, str] = Field(
        default_factory=dict, description='JSON: number of buttons → quick-reply content SID, e.g. {"2": "HX…"}')

    outbox_lease_seconds: float = 30.0
    outbox_max_attempts: int = 8
    outbox_poll_seconds: float = 0.5

    secret_key: str = Field(default="", description="signs console sessions; generated under var/ if empty")
    seed_content_on_start: bool = True

    @property
    def var_dir(self) -> Path:
        """Return the folder for local state (the SQLite file, generated secrets)."""
        return Path("var")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
