"""The console stays inside its layer: no platform SDKs, and no message text in its logs."""

from __future__ import annotations

import logging
import subprocess
import sys

from tests.console.conftest import ask_for_person, login, make_coach
from tests.console.test_tickets import _reply


def test_console_does_not_import_telegram_or_twilio():
    code = ("import sys, coach_console.app, coach_console.metrics; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'twilio', 'bot')); "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


async def test_no_message_text_or_email_in_logs(runtime, client, caplog):
    await make_coach(runtime, "bea@example.org")
    waiting = await ask_for_person(runtime)
    with caplog.at_level(logging.INFO):
        await login(client, "bea@example.org", "not the password")
        await login(client, "bea@example.org")
        await _reply(client, waiting.ticket_id, "Geheim antwoord 0612345678")
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.levelno >= logging.INFO)
    assert "Geheim antwoord" not in logged and "0612345678" not in logged and "bea@example.org" not in logged
