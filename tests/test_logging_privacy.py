"""Logs at INFO and above carry ids and numbers, never what a jongere wrote or who they are."""

from __future__ import annotations

import logging

from bot.logging_setup import JsonFormatter
from tests.helpers import Chat

SECRET = "mijn naam is Fatima Jansen en mijn nummer is 0612345678"


async def test_no_message_text_names_or_numbers_in_logs(runtime, caplog):
    caplog.set_level(logging.INFO)
    chat = Chat(runtime, identity="test:+31612345678")
    await chat.send("hoi")
    await chat.send(SECRET)
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records if r.levelno >= logging.INFO]
    assert any("turn handled" in line for line in lines)
    joined = "\n".join(lines)
    for fragment in ("Fatima", "Jansen", "0612345678", "+31612345678", "mijn naam"):
        assert fragment not in joined
