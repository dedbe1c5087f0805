"""`jongerenloket serve` as a deployment runs it, with Telegram (polling) and WhatsApp switched on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import DEFAULT_WHATSAPP_SENDER, FakeTwilioAPI, inbound_whatsapp_params, signed_form

BIN = Path(sys.executable).parent / "jongerenloket"
PUBLIC = "https://desk.example.nl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fakes():
    tg, tw = FakeTelegramAPI(token="123:SERVE"), FakeTwilioAPI()
    tg.start()
    tw.start()
    yield tg, tw
    tg.stop()
    tw.stop()


@pytest.fixture
def served(tmp_path, fakes):
    tg, tw = fakes
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "LOG_LEVEL": "WARNING",
           "TELEGRAM_BOT_TOKEN": "123:SERVE", "TELEGRAM_API_BASE_URL": f"{tg.base_url}/bot",
           "TWILIO_ACCOUNT_SID": tw.account_sid, "TWILIO_AUTH_TOKEN": tw.auth_token,
           "TWILIO_WHATSAPP_FROM": DEFAULT_WHATSAPP_SENDER, "TWILIO_API_BASE_URL": tw.base_url,
           # Twilio verifies signatures against the public URL; Telegram polls all the same.
           "PUBLIC_BASE_URL": PUBLIC, "TELEGRAM_MODE": "polling"}
    process = subprocess.Popen([str(BIN), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
        if process.poll() is not None:
            pytest.fail(f"serve exited: {process.stdout.read() if process.stdout else ''}")
    else:
        process.kill()
        pytest.fail("serve did not become healthy within 60 s")
    yield base
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_serve_answers_telegram_within_a_second_and_whatsapp_when_signed(served, fakes):
    tg, tw = fakes
    assert httpx.get(f"{served}/healthz").json()["channels"] == ["telegram", "web", "whatsapp"]
    deadline = time.monotonic() + 10
    while not tg.calls_to("getUpdates") and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    tg.push_text(4242, "hoi")
    sent = tg.wait_for_sent_sync(1, timeout=5, chat_id=4242)
    assert time.monotonic() - started < 1.0
    assert "Welkom" in sent[0].text

    params = inbound_whatsapp_params(from_="whatsapp:+31687654321", body="hoi")
    headers, body = signed_form(f"{PUBLIC}/webhooks/twilio/whatsapp", params, tw.auth_token)
    assert httpx.post(f"{served}/webhooks/twilio/whatsapp", data=body, headers=headers).status_code == 200
    assert "Welkom" in tw.wait_for_sent_sync(1, timeout=5, to="whatsapp:+31687654321")[0].body
    unsigned = httpx.post(f"{served}/webhooks/twilio/whatsapp", data=inbound_whatsapp_params(body="hoi"))
    assert unsigned.status_code == 403
