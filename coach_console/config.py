"""Console settings: service levels and working hours, from the environment (prefix CONSOLE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Settings only the coach console uses; each can be set as CONSOLE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    sla_first_answer_hours: float = Field(default=4.0, description="first answer within this many working hours")
    sla_crisis_minutes: float = Field(default=0.0, description="crisis: answer at once (0 = immediately)")
    work_start_hour: int = 9
    work_end_hour: int = 17
    work_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday")
    timezone: str = "Europe/Amsterdam"
    session_hours: float = Field(default=12.0, description="a login lasts this long")
    login_max_failures: int = Field(default=5, description="failed logins per e-mail+IP before a lockout")
    login_window_minutes: float = 15.0
    login_lockout_seconds: float = Field(default=30.0, description="first lockout; doubles per extra failure")
    login_lockout_max_seconds: float = 900.0
    login_failure_delay: float = Field(default=0.5, description="seconds every failed login waits")
    history_page_size: int = 50
    events_poll_seconds: float = Field(default=1.0, description="how often the live stream checks the database")
    extra_examples_file: str = Field(default="", description="staff NLU examples (Rasa YAML); empty = "
                                                          "nlu/data/extra_examples.yml, which the engine loads")
